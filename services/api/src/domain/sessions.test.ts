import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryAuditLog } from './audit';
import { ApiError } from './errors';
import { Sessions } from './sessions';
import { FakeGateway, caller, session } from './test-fixtures';

const alice = caller('alice', 'team-a');
const carol = caller('carol', 'team-a', 'tenant-admin');
const ops = caller('olga', 'ops', 'platform-ops');

let gateway: FakeGateway;
let sessions: Sessions;
let log: MemoryAuditLog;

beforeEach(() => {
  gateway = new FakeGateway();
  gateway.sessions = [session('gs-a1', 'team-a', 'alice', 'dev'), session('gs-a2', 'team-a', 'bob', 'bobs'), session('gs-b1', 'team-b', 'alice', 'x1')];
  log = new MemoryAuditLog();
  sessions = new Sessions({ gateway, audit: log });
});

const keys = (list: Array<{ key: string }>): string[] => list.map((s) => s.key);

describe('Sessions.list', () => {
  it('shows users their own, admins their tenant, ops everything', async () => {
    expect(keys(await sessions.list(alice))).toEqual(['gs-a1']);
    expect(keys(await sessions.list(alice, { user: 'bob' }))).toEqual(['gs-a1']); // a user cannot widen to a colleague
    expect(keys(await sessions.list(carol))).toEqual(['gs-a1', 'gs-a2']);
    expect(keys(await sessions.list(carol, { user: 'bob' }))).toEqual(['gs-a2']);
    expect(keys(await sessions.list(carol, { desktop: 'dev' }))).toEqual(['gs-a1']);
    expect(keys(await sessions.list(ops))).toEqual(['gs-a1', 'gs-a2', 'gs-b1']);
    expect(keys(await sessions.list(ops, { tenant: 'team-b' }))).toEqual(['gs-b1']);
    expect(keys(await sessions.list(ops, { desktop: 'team-b/x1' }))).toEqual(['gs-b1']);
  });

  it("hides the guest's address from tenants", async () => {
    expect((await sessions.list(alice))[0]).not.toHaveProperty('upstream');
    expect((await sessions.list(ops, { tenant: 'team-a', user: 'alice' }))[0]).toHaveProperty('upstream', '10.0.0.7:5901');
  });
});

describe('Sessions.kill', () => {
  it('lets users end their own session, audited with the reason', async () => {
    expect(await sessions.kill(alice, 'gs-a1', 'closing my laptop')).toMatchObject({ key: 'gs-a1' });
    expect(keys(gateway.sessions)).toEqual(['gs-a2', 'gs-b1']);
    expect((await log.query({ limit: 1 }))[0]).toMatchObject({ action: 'session.kill', user: 'alice', desktop: 'team-a/dev', details: { reason: 'closing my laptop', owner: 'alice' } });
  });

  it("refuses a colleague's session to a user (404) but not to the tenant admin", async () => {
    await expect(sessions.kill(alice, 'gs-a2')).rejects.toMatchObject({ status: 404 });
    expect(await sessions.kill(carol, 'gs-a2')).toMatchObject({ user: 'bob' });
    expect((await log.query({ limit: 1 }))[0]?.details).toMatchObject({ reason: 'ended by carol' });
  });

  it('lets ops end any session; an unknown key is 404', async () => {
    await sessions.kill(ops, 'gs-b1');
    expect(keys(gateway.sessions)).toEqual(['gs-a1', 'gs-a2']);
    const err = await sessions.kill(ops, 'gs-none').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404 });
  });
});
