/**
 * The isolation rule over every domain method: tenant B's objects are 404 for tenant A
 * (user and tenant admin alike, with or without naming tenant B), ops-only methods are 403
 * for everyone else whatever the target, and ops reach across tenants.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedSecretStore } from '@deskplane/orchestrator';
import { MemoryAuditLog } from './audit';
import type { Caller } from './caller';
import { Consoles } from './consoles';
import { Desktops } from './desktops';
import { ApiError } from './errors';
import { Ops } from './ops';
import { clients } from './resources';
import { Sessions } from './sessions';
import { Templates } from './templates';
import { Tenants } from './tenants';
import { FakeGateway, addDesktop, addHost, addTemplate, addTenant, caller, newStore, session, setPhase } from './test-fixtures';

const store = newStore();
const gateway = new FakeGateway();
const templates = new Templates({ store });
const tenants = new Tenants({ store });
const desktops = new Desktops({ store, templates, tenants, restartTimeoutMs: 50, pollMs: 5 });
const consoles = new Consoles({ store, secrets: embeddedSecretStore(store), gateway, config: { gateway: { host: 'gw.example', port: 5900 }, browserBaseUrl: 'https://console.example/' } });
const sessions = new Sessions({ gateway });
const ops = new Ops({ store, auditLog: new MemoryAuditLog() });

const userA = caller('alice', 'team-a');
const adminA = caller('carol', 'team-a', 'tenant-admin');
const opsCaller = caller('olga', 'ops', 'platform-ops');

beforeAll(async () => {
  await addTenant(store, 'team-b', { quota: { desktops: 10 } });
  await addTemplate(store, 'team-b', 'b-only', 1, '1Gi');
  const x1 = await addDesktop(store, 'team-b', 'x1', 'alice', 'b-only'); // same user name as tenant A's alice
  await setPhase(store, 'team-b', 'x1', 'Running');
  await embeddedSecretStore(store).ensure({ namespace: 'team-b', name: 'x1', uid: x1.metadata.uid! });
  await addHost(store, 'kvm-host-1');
  gateway.sessions = [session('gs-b', 'team-b', 'alice', 'x1')];
});

async function outcome(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
    return 'ok';
  } catch (err) {
    if (err instanceof ApiError) return `${err.status}`;
    throw err;
  }
}

type Call = [string, (c: Caller) => Promise<unknown>];

const tenantBCalls: Call[] = [
  ['desktops.get', (c) => desktops.get(c, 'x1')],
  ['desktops.get tenant B', (c) => desktops.get(c, 'x1', { tenant: 'team-b' })],
  ['desktops.list tenant B', (c) => desktops.list(c, { tenant: 'team-b' })],
  ['desktops.create from B template', (c) => desktops.create(c, { name: 'n1', template: 'b-only' })],
  ['desktops.create in tenant B', (c) => desktops.create(c, { name: 'n2', template: 'b-only' }, { tenant: 'team-b' })],
  ['desktops.delete', (c) => desktops.delete(c, 'x1')],
  ['desktops.delete tenant B', (c) => desktops.delete(c, 'x1', { tenant: 'team-b' })],
  ['desktops.start', (c) => desktops.start(c, 'x1')],
  ['desktops.stop tenant B', (c) => desktops.stop(c, 'x1', { tenant: 'team-b' })],
  ['desktops.restart tenant B', (c) => desktops.restart(c, 'x1', { tenant: 'team-b' })],
  ['desktops.watch tenant B', (c) => desktops.watch(c, () => undefined, { tenant: 'team-b' })],
  ['templates.get B template', (c) => templates.get(c, 'b-only')],
  ['templates.list tenant B', (c) => templates.list(c, { tenant: 'team-b' })],
  ['tenants.get tenant B', (c) => tenants.get(c, 'team-b')],
  ['consoles.open vv', (c) => consoles.open(c, 'x1', 'vv')],
  ['consoles.open browser tenant B', (c) => consoles.open(c, 'x1', 'browser', { tenant: 'team-b' })],
  ['sessions.list tenant B', (c) => sessions.list(c, { tenant: 'team-b' })],
  ['sessions.list B desktop', (c) => sessions.list(c, { desktop: 'team-b/x1' })],
  ['sessions.kill B session', (c) => sessions.kill(c, 'gs-b')],
];

const opsOnly: Call[] = [
  ['ops.hosts', (c) => ops.hosts(c)],
  ['ops.host', (c) => ops.host(c, 'kvm-host-1')],
  ['ops.host (missing)', (c) => ops.host(c, 'no-such-host')],
  ['ops.drain', (c) => ops.drain(c, 'kvm-host-1')],
  ['ops.undrain', (c) => ops.undrain(c, 'kvm-host-1')],
  ['ops.migrations', (c) => ops.migrations(c)],
  ['ops.startMigration', (c) => ops.startMigration(c, { tenant: c.tenant, desktop: 'x1' })],
  ['ops.abortMigration', (c) => ops.abortMigration(c, c.tenant, 'm1')],
  ['ops.queueStats', (c) => ops.queueStats(c)],
  ['ops.audit', (c) => ops.audit(c, { limit: 10 })],
  ['tenants.list', (c) => tenants.list(c)],
  ['tenants.setQuota own tenant', (c) => tenants.setQuota(c, c.tenant, { desktops: 100 })],
  ['tenants.setQuota tenant B', (c) => tenants.setQuota(c, 'team-b', { desktops: 100 })],
];

describe.each([
  ['user', userA],
  ['tenant admin', adminA],
])('a %s of tenant A', (_role, c) => {
  it.each(tenantBCalls)('gets 404 from %s', async (_name, call) => {
    expect(await outcome(() => call(c))).toBe('404');
  });

  it.each(opsOnly)('gets 403 from %s', async (_name, call) => {
    expect(await outcome(() => call(c))).toBe('403');
  });

  it('sees none of tenant B in lists, even from a gateway that ignores filters', async () => {
    gateway.ignoreFilters = true;
    try {
      expect(await sessions.list(c)).toEqual([]);
    } finally {
      gateway.ignoreFilters = false;
    }
    expect(await desktops.list(c)).toEqual([]);
    expect((await templates.list(c)).map((t) => t.name)).not.toContain('b-only');
  });
});

describe('tenant B after all that', () => {
  it('was not changed by any refused call', async () => {
    const x1 = await clients(store).desktops.get('x1', 'team-b');
    expect(x1?.metadata.deletionTimestamp).toBeUndefined();
    expect(x1?.spec.runStrategy).toBe('Always');
    expect((await clients(store).desktops.list({ namespace: 'team-b' })).items).toHaveLength(1);
    expect((await clients(store).tenants.get('team-b'))?.spec.quota).toEqual({ desktops: 10 });
    expect(gateway.minted).toEqual([]);
    expect(gateway.sessions.map((s) => s.key)).toEqual(['gs-b']);
    expect((await clients(store).hosts.get('kvm-host-1'))?.spec.maintenance).toBe(false);
  });
});

describe('platform ops', () => {
  it('read and act across tenants', async () => {
    expect(await desktops.get(opsCaller, 'x1', { tenant: 'team-b' })).toMatchObject({ tenant: 'team-b', host: 'kvm-host-1' });
    expect((await sessions.list(opsCaller)).map((s) => s.key)).toEqual(['gs-b']);
    expect((await tenants.get(opsCaller, 'team-b')).usage).toMatchObject({ desktops: 1, vcpus: 1, memory: '1Gi' });
    expect(await outcome(() => ops.hosts(opsCaller))).toBe('ok');
    // A console stays the owner's: ops are refused (403), not hidden from (404).
    expect(await outcome(() => consoles.open(opsCaller, 'x1', 'vv', { tenant: 'team-b' }))).toBe('403');
  });
});
