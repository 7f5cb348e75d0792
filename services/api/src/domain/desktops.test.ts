import { beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedStore } from '@deskplane/resource-store';
import { MemoryAuditLog } from './audit';
import { Desktops } from './desktops';
import type { DesktopEvent } from './desktop-feed';
import { ApiError, Conflict } from './errors';
import { clients } from './resources';
import { SHARED_COPY_LABEL, Templates } from './templates';
import { Tenants } from './tenants';
import { addDesktop, addTemplate, addTenant, caller, newStore, setPhase } from './test-fixtures';

const alice = caller('alice', 'team-a');
const bob = caller('bob', 'team-a');
const carol = caller('carol', 'team-a', 'tenant-admin');
const ops = caller('olga', 'ops', 'platform-ops');

let store: EmbeddedStore;
let desktops: Desktops;
let log: MemoryAuditLog;

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

beforeEach(async () => {
  store = newStore();
  log = new MemoryAuditLog();
  const tenants = new Tenants({ store });
  desktops = new Desktops({ store, templates: new Templates({ store }), tenants, audit: log, pollMs: 5, restartTimeoutMs: 400 });
  await addTemplate(store, 'team-a', 'small', 2, '4Gi');
  await addTemplate(store, 'team-a', 'big', 4, '8Gi');
  await addTemplate(store, 'deskplane-system', 'shared-linux', 1, '2Gi');
});

describe('Desktops.list', () => {
  beforeEach(async () => {
    await addDesktop(store, 'team-a', 'a1', 'alice', 'small');
    await addDesktop(store, 'team-a', 'b1', 'bob', 'small');
    await addDesktop(store, 'team-b', 'x1', 'xavier', 'small');
  });

  it('shows users their own desktops, admins the tenant, ops any tenant or all', async () => {
    expect((await desktops.list(alice)).map((d) => d.name)).toEqual(['a1']);
    expect((await desktops.list(carol)).map((d) => d.name)).toEqual(['a1', 'b1']);
    expect((await desktops.list(carol, { mine: true })).map((d) => d.name)).toEqual([]);
    expect((await desktops.list(ops, { tenant: 'team-b' })).map((d) => d.name)).toEqual(['x1']);
    expect((await desktops.list(ops)).map((d) => `${d.tenant}/${d.name}`)).toEqual(['team-a/a1', 'team-a/b1', 'team-b/x1']);
  });

  it('shows the host only to ops', async () => {
    await setPhase(store, 'team-a', 'a1', 'Running', 'kvm-host-9');
    const mine = (await desktops.list(alice))[0]!;
    expect(mine).toMatchObject({ phase: 'Running', ready: true, consoleReady: true, reason: 'Running' });
    expect(mine.host).toBeUndefined();
    expect(mine.message).toBeUndefined();
    expect((await desktops.list(ops, { tenant: 'team-a' }))[0]).toMatchObject({ host: 'kvm-host-9', message: 'Running on kvm-host-9' });
  });
});

describe('Desktops.create', () => {
  it('creates a desktop owned by the caller from a tenant template', async () => {
    const d = await desktops.create(alice, { name: 'dev', template: 'small', runStrategy: 'Manual', persistent: false });
    expect(d).toMatchObject({ name: 'dev', tenant: 'team-a', owner: 'alice', template: 'small', runStrategy: 'Manual', persistent: false, phase: 'Pending' });
    const stored = await clients(store).desktops.get('dev', 'team-a');
    expect(stored?.spec).toMatchObject({ owner: 'alice', templateRef: { name: 'small' } });
    expect((await log.query({ limit: 10 }))[0]).toMatchObject({ action: 'desktop.create', user: 'alice', tenant: 'team-a', desktop: 'team-a/dev' });
  });

  it.each([
    [{ name: 'Dev', template: 'small' }, 'name'],
    [{ name: 'x'.repeat(64), template: 'small' }, 'name'],
    [{ name: 'has.dot', template: 'small' }, 'name'],
    [{ name: '', template: 'small' }, 'name'],
    [{ name: 42, template: 'small' }, 'name'],
    [{ name: 'ok', template: 'UPPER' }, 'template'],
    [{ name: 'ok' }, 'template'],
    [{ name: 'ok', template: 'small', runStrategy: 'Sometimes' }, 'runStrategy'],
    [{ name: 'ok', template: 'small', persistent: 'yes' }, 'persistent'],
  ])('refuses %j with 400 naming %s, creating nothing', async (input, field) => {
    const err = await rejection(desktops.create(alice, input as never));
    expect(err).toMatchObject({ status: 400, code: 'BadRequest', field });
    expect((await clients(store).desktops.list()).items).toHaveLength(0);
  });

  it('refuses a name that exists (409) and a template that does not (404)', async () => {
    await desktops.create(alice, { name: 'dev', template: 'small' });
    expect(await rejection(desktops.create(bob, { name: 'dev', template: 'small' }))).toMatchObject({ status: 409, message: 'desktop "dev" already exists' });
    expect(await rejection(desktops.create(alice, { name: 'dev2', template: 'nope' }))).toMatchObject({ status: 404, message: 'template "nope" not found' });
  });

  it('copies a shared template into the tenant namespace on first use, once', async () => {
    await desktops.create(alice, { name: 'one', template: 'shared-linux' });
    await desktops.create(alice, { name: 'two', template: 'shared-linux' });
    const copy = await clients(store).templates.get('shared-linux', 'team-a');
    expect(copy?.metadata.labels).toEqual({ [SHARED_COPY_LABEL]: 'deskplane-system' });
    expect(copy?.spec).toMatchObject({ vcpus: 1, memory: '2Gi' });
  });

  it('does not let another tenant use a template of team-a', async () => {
    const xavier = caller('xavier', 'team-b');
    expect(await rejection(desktops.create(xavier, { name: 'steal', template: 'small' }))).toMatchObject({ status: 404 });
  });
});

describe('quota', () => {
  it('allows up to the limit and refuses one more, naming the quota; nothing is created', async () => {
    await addTenant(store, 'team-a', { quota: { vcpus: 4 } });
    await desktops.create(alice, { name: 'd1', template: 'small' });
    await desktops.create(alice, { name: 'd2', template: 'small' }); // exactly 4/4
    const err = await rejection(desktops.create(alice, { name: 'd3', template: 'small' }));
    expect(err).toBeInstanceOf(Conflict);
    expect(err).toMatchObject({ status: 409, message: 'quota exceeded: vcpus 4/4 used, this desktop needs 2', quota: 'vcpus' });
    expect((await clients(store).desktops.list({ namespace: 'team-a' })).items.map((d) => d.metadata.name)).toEqual(['d1', 'd2']);
  });

  it('checks desktops, then vCPUs, then memory', async () => {
    await addTenant(store, 'team-a', { quota: { desktops: 1, vcpus: 1, memory: '1Gi' } });
    await addDesktop(store, 'team-a', 'old', 'bob', 'small');
    expect(await rejection(desktops.create(alice, { name: 'n', template: 'small' }))).toMatchObject({ quota: 'desktops', message: 'quota exceeded: desktops 1/1 used, this desktop needs 1' });
    await clients(store).tenants.update({ ...(await clients(store).tenants.get('team-a'))!, spec: { quota: { desktops: 5, memory: '10Gi' } } });
    expect(await rejection(desktops.create(alice, { name: 'n', template: 'big' }))).toMatchObject({ quota: 'memory', message: 'quota exceeded: memory 4Gi/10Gi used, this desktop needs 8Gi' });
  });

  it('does not count desktops being deleted, and leaves no shared-template copy behind on refusal', async () => {
    await addTenant(store, 'team-a', { quota: { desktops: 1 } });
    const old = await addDesktop(store, 'team-a', 'old', 'alice', 'small');
    expect(await rejection(desktops.create(alice, { name: 'n', template: 'shared-linux' }))).toMatchObject({ quota: 'desktops' });
    expect(await clients(store).templates.get('shared-linux', 'team-a')).toBeUndefined();
    await clients(store).desktops.update({ ...old, metadata: { ...old.metadata, finalizers: ['deskplane.io/desktop-cleanup'] } });
    await clients(store).desktops.delete('old', 'team-a');
    await expect(desktops.create(alice, { name: 'n', template: 'shared-linux' })).resolves.toMatchObject({ name: 'n' });
  });

  it('lets only one of two concurrent creates take the last slot', async () => {
    await addTenant(store, 'team-a', { quota: { desktops: 1 } });
    const results = await Promise.allSettled([desktops.create(alice, { name: 'p', template: 'small' }), desktops.create(bob, { name: 'q', template: 'small' })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await clients(store).desktops.list()).items).toHaveLength(1);
  });
});

describe('power', () => {
  const spec = async (name: string) => (await clients(store).desktops.get(name, 'team-a'))!;

  beforeEach(async () => {
    await addDesktop(store, 'team-a', 'a1', 'alice', 'small');
    await setPhase(store, 'team-a', 'a1', 'Running');
  });

  it('stop sets Halted, start sets Always; repeating a settled one writes nothing', async () => {
    expect(await desktops.stop(alice, 'a1')).toMatchObject({ runStrategy: 'Halted' });
    const gen = (await spec('a1')).metadata.generation!;
    await setPhase(store, 'team-a', 'a1', 'Stopped');
    await desktops.stop(alice, 'a1');
    expect((await spec('a1')).metadata.generation).toBe(gen);
    expect(await desktops.start(alice, 'a1')).toMatchObject({ runStrategy: 'Always' });
    expect((await spec('a1')).metadata.generation).toBe(gen + 1);
  });

  it('start on an Always desktop that stopped by itself moves to a new generation (a new start job)', async () => {
    await setPhase(store, 'team-a', 'a1', 'Stopped');
    const before = (await spec('a1')).metadata.generation!;
    await desktops.start(alice, 'a1');
    const after = await spec('a1');
    expect(after.spec.runStrategy).toBe('Always');
    expect(after.metadata.generation).toBe(before + 2);
  });

  it('restart stops, waits for the stop to begin, then starts', async () => {
    const seen: string[] = [];
    // Plays the operator + orchestrator: Halted on a Running desktop → Stopping.
    const timer = setInterval(() => {
      void spec('a1').then(async (d) => {
        seen.push(`${d.spec.runStrategy}/${d.status?.phase}`);
        if (d.spec.runStrategy === 'Halted' && d.status?.phase === 'Running') await setPhase(store, 'team-a', 'a1', 'Stopping');
      });
    }, 10);
    try {
      expect(await desktops.restart(alice, 'a1')).toMatchObject({ runStrategy: 'Always', phase: 'Stopping' });
    } finally {
      clearInterval(timer);
    }
    expect(seen).toContain('Halted/Running');
  });

  it('restart whose stop never begins puts Always back and answers 409', async () => {
    const err = await rejection(desktops.restart(alice, 'a1'));
    expect(err).toMatchObject({ status: 409 });
    expect(err.message).toMatch(/did not begin to stop within 0 s; it keeps running/);
    expect((await spec('a1')).spec.runStrategy).toBe('Always');
  });

  it('refuses power actions on desktops being deleted or failed, and restart before the first run', async () => {
    await setPhase(store, 'team-a', 'a1', 'Failed');
    expect(await rejection(desktops.start(alice, 'a1'))).toMatchObject({ status: 409, message: expect.stringContaining('has failed') as string });
    await setPhase(store, 'team-a', 'a1', 'Provisioning');
    expect(await rejection(desktops.restart(alice, 'a1'))).toMatchObject({ status: 409, message: expect.stringContaining('Provisioning') as string });
  });

  it('lets a colleague neither act on nor see the desktop (403), an admin both', async () => {
    expect(await rejection(desktops.stop(bob, 'a1'))).toMatchObject({ status: 403 });
    expect(await rejection(desktops.get(bob, 'a1'))).toMatchObject({ status: 403 });
    await expect(desktops.stop(carol, 'a1')).resolves.toMatchObject({ runStrategy: 'Halted' });
  });

  it('delete marks the desktop, is idempotent and audited', async () => {
    const d = await spec('a1');
    await clients(store).desktops.update({ ...d, metadata: { ...d.metadata, finalizers: ['deskplane.io/desktop-cleanup'] } });
    await desktops.delete(alice, 'a1');
    await desktops.delete(alice, 'a1');
    expect(await desktops.get(alice, 'a1')).toMatchObject({ deleting: true });
    expect((await log.query({ limit: 10, desktop: 'team-a/a1' })).filter((e) => e.action === 'desktop.delete')).toHaveLength(1);
  });
});

describe('Desktops.watch', () => {
  it('sends the visible desktops, then their changes, and nothing of others', async () => {
    await addDesktop(store, 'team-a', 'a1', 'alice', 'small');
    await addDesktop(store, 'team-a', 'b1', 'bob', 'small');
    const events: DesktopEvent[] = [];
    const sub = await desktops.watch(alice, (e) => events.push(e));
    const adminEvents: DesktopEvent[] = [];
    const adminSub = await desktops.watch(carol, (e) => adminEvents.push(e));
    try {
      await setPhase(store, 'team-a', 'a1', 'Running');
      await setPhase(store, 'team-a', 'b1', 'Running');
      await addDesktop(store, 'team-b', 'x1', 'alice', 'small'); // same user name, other tenant
      await clients(store).desktops.delete('a1', 'team-a');
      await new Promise((r) => setTimeout(r, 20));
      expect(events.map((e) => `${e.type} ${e.desktop.name} ${e.desktop.phase}`)).toEqual(['added a1 Pending', 'modified a1 Running', 'deleted a1 Running']);
      expect(adminEvents.map((e) => `${e.type} ${e.desktop.name}`)).toEqual(['added a1', 'added b1', 'modified a1', 'modified b1', 'deleted a1']);
    } finally {
      sub.stop();
      adminSub.stop();
      desktops.close();
    }
  });
});
