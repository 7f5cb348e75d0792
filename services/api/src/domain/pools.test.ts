/**
 * Pool claims on a real EmbeddedStore (resourceVersion conflicts included): who may claim,
 * which desktop a claim gets, a claim given back to its holder, an exhausted pool, 50 users
 * racing for 2 desktops, and the console of a pool desktop, warm and cold.
 */
import { MemoryTicketStore, SessionRegistry } from '@deskplane/gateway';
import { embeddedSecretStore } from '@deskplane/orchestrator';
import { type EmbeddedStore } from '@deskplane/resource-store';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryAuditLog } from './audit';
import type { Caller } from './caller';
import { Consoles } from './consoles';
import { ApiError, Conflict } from './errors';
import { InProcessGatewayAccess } from './gateway-access';
import { PoolMetrics } from './pool-metrics';
import { CLAIMED_AT_ANNOTATION, Pools, RECYCLE_ANNOTATION, type PoolsDeps } from './pools';
import { clients } from './resources';
import { addPool, addPoolDesktop, deleteWithFinalizer, metricValue } from './pool-fixtures';
import { addTemplate, caller, newStore, setPhase } from './test-fixtures';

const alice = caller('alice', 'team-a');
const bob = caller('bob', 'team-a');
const eve = caller('eve', 'team-b');

let store: EmbeddedStore;
let log: MemoryAuditLog;
let registry: Registry;
let metrics: PoolMetrics;

function pools(over: Partial<PoolsDeps> = {}): Pools {
  const consoles = new Consoles({
    store,
    secrets: embeddedSecretStore(store),
    gateway: new InProcessGatewayAccess({ gateway: { sessions: new SessionRegistry() }, tickets: new MemoryTicketStore() }),
    config: { gateway: { host: 'gw.example.org', port: 5900 }, browserBaseUrl: 'https://desk.example.org/console' },
    audit: log,
  });
  return new Pools({ store, consoles, audit: log, metrics, pollMs: 20, ...over });
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

const owner = async (name: string, ns = 'team-a'): Promise<string | undefined> => (await clients(store).desktops.get(name, ns))?.spec.owner;

/** A running desktop whose console password exists, as the orchestrator leaves a warm one. */
async function warm(pool: string, name: string, ns = 'team-a'): Promise<void> {
  const d = await addPoolDesktop(store, ns, pool, name);
  await embeddedSecretStore(store).ensure({ namespace: ns, name, uid: d.metadata.uid! });
  await setPhase(store, ns, name, 'Running');
}

beforeEach(async () => {
  store = newStore();
  log = new MemoryAuditLog();
  registry = new Registry();
  metrics = new PoolMetrics(registry);
  await addTemplate(store, 'team-a', 'small', 1, '1Gi');
  await addTemplate(store, 'team-b', 'small', 1, '1Gi');
});

describe('who may claim', () => {
  beforeEach(async () => {
    await addPool(store, 'team-a', 'open', { size: 2 });
    await addPool(store, 'team-a', 'bobs', { size: 1, claimants: { users: ['bob'] } });
    await addPool(store, 'team-a', 'staff', { size: 1, claimants: { groups: ['team-a-staff'] } });
    await addPool(store, 'team-a', 'nobody', { size: 1, claimants: { users: [], groups: [] } });
    await addPool(store, 'team-b', 'theirs', { size: 1 });
    await warm('open', 'open-aaaaa');
    await addPoolDesktop(store, 'team-a', 'open', 'open-bbbbb');
    await warm('bobs', 'bobs-aaaaa');
    await warm('theirs', 'theirs-aaaaa', 'team-b');
  });

  it('lists the pools whose claimants name me, by user or group, or that have none', async () => {
    expect((await pools().list(alice)).map((p) => p.name)).toEqual(['open', 'staff']);
    expect((await pools().list(bob)).map((p) => p.name)).toEqual(['bobs', 'open', 'staff']);
    const stranger: Caller = { ...alice, user: 'mallory', groups: [] };
    expect((await pools().list(stranger)).map((p) => p.name)).toEqual(['open']);
  });

  it('counts free, available and claimed desktops, and shows the one I hold', async () => {
    const [before] = await pools().list(alice);
    expect(before).toMatchObject({ name: 'open', template: 'small', assignment: 'Dedicated', size: 2, desktops: 2, free: 1, available: 2, claimed: 0 });
    expect(before!.mine).toBeUndefined();
    await pools().claim(alice, 'open');
    const [after] = await pools().list(alice);
    expect(after).toMatchObject({ free: 0, available: 1, claimed: 1, mine: { name: 'open-aaaaa', owner: 'alice', phase: 'Running', consoleReady: true } });
  });

  it('is 404 for another tenant’s pool (named or not) and for no pool, 403 for a pool of mine I may not claim', async () => {
    expect((await refusal(pools().claim(alice, 'theirs'))).status).toBe(404);
    expect((await refusal(pools().claim(alice, 'theirs', { tenant: 'team-b' }))).status).toBe(404);
    expect((await refusal(pools().list(alice, { tenant: 'team-b' }))).status).toBe(404);
    expect((await refusal(pools().claim(alice, 'ghost'))).status).toBe(404);
    const forbidden = await refusal(pools().claim(alice, 'bobs'));
    expect(forbidden.status).toBe(403);
    expect(forbidden.message).toMatch(/claimants/);
    expect((await refusal(pools().claim(alice, 'nobody'))).status).toBe(403);
    expect((await refusal(pools().claim(eve, 'open'))).status).toBe(404);
    expect(await owner('bobs-aaaaa')).toBeUndefined();
    expect(await owner('open-aaaaa')).toBeUndefined();
    expect(await metricValue(registry, 'deskplane_pool_claims_total', { tenant: 'team-a', pool: 'unknown', result: 'not_found' })).toBe(3);
    expect(await metricValue(registry, 'deskplane_pool_claims_total', { tenant: 'team-a', pool: 'bobs', result: 'forbidden' })).toBe(1);
  });
});

describe('claim', () => {
  beforeEach(async () => {
    await addPool(store, 'team-a', 'office', { size: 8, assignment: 'Floating' });
  });

  it('prefers running with a console, then starting, then being made, then stopped; never failed, recycled or deleted ones', async () => {
    const phases = [
      ['office-stopd', 'Stopped'],
      ['office-provi', 'Provisioning'],
      ['office-faild', 'Failed'],
      ['office-start', 'Starting'],
      ['office-runng', 'Running'],
    ] as const;
    for (const [name, phase] of phases) {
      await addPoolDesktop(store, 'team-a', 'office', name);
      await setPhase(store, 'team-a', name, phase);
    }
    await addPoolDesktop(store, 'team-a', 'office', 'office-recyc', { annotations: { [RECYCLE_ANNOTATION]: 'logout' } });
    await setPhase(store, 'team-a', 'office-recyc', 'Running');
    await addPoolDesktop(store, 'team-a', 'office', 'office-delet', { finalizer: true });
    await setPhase(store, 'team-a', 'office-delet', 'Running');
    await deleteWithFinalizer(store, 'team-a', 'office-delet');
    // Labelled by hand, not made by the pool: never handed out.
    await clients(store).desktops.create({ apiVersion: 'deskplane.io/v1alpha1', kind: 'VirtualDesktop', metadata: { name: 'office-fake1', namespace: 'team-a', labels: { 'deskplane.io/pool': 'office' } }, spec: { templateRef: { name: 'small' }, owner: 'x' } });

    const got: string[] = [];
    for (const u of ['u1', 'u2', 'u3', 'u4']) got.push((await pools().claim(caller(u, 'team-a'), 'office')).desktop.name);
    expect(got).toEqual(['office-runng', 'office-start', 'office-provi', 'office-stopd']);
    const last = await refusal(pools().claim(caller('u5', 'team-a'), 'office'));
    expect(last).toBeInstanceOf(Conflict);
    expect((last as Conflict).reason).toBe('exhausted');
    expect(last.message).toBe('pool "office" has no free desktop: 4 of 8 claimed, 3 being reset or set up; ask your admin to raise size');
  });

  it('makes the desktop mine in one write: owner, runStrategy Always, the claimed-at time; audited and counted', async () => {
    await addPoolDesktop(store, 'team-a', 'office', 'office-aaaaa', { runStrategy: 'Halted' });
    await setPhase(store, 'team-a', 'office-aaaaa', 'Stopped');
    const before = await clients(store).desktops.get('office-aaaaa', 'team-a');
    const out = await pools({ now: () => new Date('2026-03-02T08:59:30.123Z') }).claim(alice, 'office');
    expect(out).toMatchObject({ pool: 'office', tenant: 'team-a', result: 'claimed', desktop: { name: 'office-aaaaa', owner: 'alice', runStrategy: 'Always' } });
    const d = (await clients(store).desktops.get('office-aaaaa', 'team-a'))!;
    expect(d.spec).toMatchObject({ owner: 'alice', runStrategy: 'Always', poolRef: { name: 'office' } });
    expect(d.metadata.annotations?.[CLAIMED_AT_ANNOTATION]).toBe('2026-03-02T08:59:30Z');
    expect(Number(d.metadata.resourceVersion)).toBeGreaterThan(Number(before!.metadata.resourceVersion));
    const entries = await log.query({ limit: 10 });
    expect(entries.map((e) => [e.action, e.user, e.desktop, e.details])).toEqual([['pool.claim', 'alice', 'team-a/office-aaaaa', { pool: 'office', result: 'claimed' }]]);
    expect(await metricValue(registry, 'deskplane_pool_claims_total', { tenant: 'team-a', pool: 'office', result: 'claimed' })).toBe(1);
  });

  it('gives back the desktop I hold (reclaimed), starting it again when it was stopped', async () => {
    await warm('office', 'office-aaaaa');
    await warm('office', 'office-bbbbb');
    const first = await pools().claim(alice, 'office');
    // An idle stop of a dedicated desktop leaves it Halted: claiming again starts it.
    const c = clients(store).desktops;
    const held = (await c.get(first.desktop.name, 'team-a'))!;
    await c.update({ ...held, spec: { ...held.spec, runStrategy: 'Halted' } });
    const again = await pools().claim(alice, 'office');
    expect(again.result).toBe('reclaimed');
    expect(again.desktop.name).toBe(first.desktop.name);
    expect((await c.get(first.desktop.name, 'team-a'))!.spec.runStrategy).toBe('Always');
    expect((await pools().list(alice))[0]).toMatchObject({ claimed: 1, free: 1 });
    expect(await metricValue(registry, 'deskplane_pool_claims_total', { tenant: 'team-a', pool: 'office', result: 'reclaimed' })).toBe(1);
  });

  it('does not give back a floating desktop marked for recycling: the next claim gets a fresh one', async () => {
    await warm('office', 'office-aaaaa');
    await warm('office', 'office-bbbbb');
    const first = await pools().claim(alice, 'office');
    const c = clients(store).desktops;
    const held = (await c.get(first.desktop.name, 'team-a'))!;
    await c.update({ ...held, metadata: { ...held.metadata, annotations: { ...held.metadata.annotations, [RECYCLE_ANNOTATION]: 'logout' } } });
    const next = await pools().claim(alice, 'office');
    expect(next.result).toBe('claimed');
    expect(next.desktop.name).not.toBe(first.desktop.name);
  });

  it('keeps serving holders of a pool being deleted, and hands out nothing new', async () => {
    await warm('office', 'office-aaaaa');
    await warm('office', 'office-bbbbb');
    await pools().claim(alice, 'office');
    const p = clients(store).pools;
    const pool = (await p.get('office', 'team-a'))!;
    await p.update({ ...pool, metadata: { ...pool.metadata, finalizers: ['deskplane.io/pool-cleanup'] } });
    await p.delete('office', 'team-a');
    expect((await pools().claim(alice, 'office')).result).toBe('reclaimed');
    const refused = await refusal(pools().claim(bob, 'office'));
    expect([refused.status, (refused as Conflict).reason, refused.message]).toEqual([409, 'exhausted', 'pool "office" is being deleted']);
  });

  it('hands 2 free desktops to exactly 2 of 50 users claiming at once; the 48 others get exhausted', async () => {
    await addPool(store, 'team-a', 'rush', { size: 2, warm: 2 });
    await warm('rush', 'rush-aaaaa');
    await warm('rush', 'rush-bbbbb');
    const svc = pools();
    const users = Array.from({ length: 50 }, (_, i) => caller(`user${String(i).padStart(2, '0')}`, 'team-a'));
    const results = await Promise.allSettled(users.map((u) => svc.claim(u, 'rush')));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [[users[i]!.user, r.value.desktop.name] as const] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(won).toHaveLength(2);
    expect(new Set(won.map(([, d]) => d))).toEqual(new Set(['rush-aaaaa', 'rush-bbbbb']));
    expect(lost).toHaveLength(48);
    for (const e of lost) expect([(e as Conflict).status, (e as Conflict).reason]).toEqual([409, 'exhausted']);
    for (const [user, desktop] of won) expect(await owner(desktop)).toBe(user);
    const { items } = await clients(store).desktops.list({ namespace: 'team-a', labelSelector: { 'deskplane.io/pool': 'rush' } });
    expect(items.map((d) => d.spec.owner).filter(Boolean)).toHaveLength(2);
    // The race was real: claims lost desktops to each other and moved on.
    expect(await metricValue(registry, 'deskplane_pool_claim_conflict_retries_total', { tenant: 'team-a', pool: 'rush' })).toBeGreaterThanOrEqual(48);
    expect(await metricValue(registry, 'deskplane_pool_claims_total', { tenant: 'team-a', pool: 'rush', result: 'exhausted' })).toBe(48);
    expect(await metricValue(registry, 'deskplane_pool_claims_total', { tenant: 'team-a', pool: 'rush', result: 'claimed' })).toBe(2);
  });

  it('lets one user’s double click take one desktop, not two', async () => {
    await warm('office', 'office-aaaaa');
    await warm('office', 'office-bbbbb');
    const svc = pools();
    const [a, b] = await Promise.all([svc.claim(alice, 'office'), svc.claim(alice, 'office')]);
    expect([a.result, b.result].sort()).toEqual(['claimed', 'reclaimed']);
    expect(a.desktop.name).toBe(b.desktop.name);
  });
});

describe('console', () => {
  beforeEach(async () => {
    await addPool(store, 'team-a', 'office', { size: 2 });
  });

  it('hands a warm desktop’s .vv at once and counts the time to console', async () => {
    await warm('office', 'office-aaaaa');
    const r = await pools().console(alice, 'office', 'vv');
    expect(r).toMatchObject({ kind: 'vv', desktop: 'office-aaaaa', result: 'claimed', fileName: 'office-aaaaa.vv' });
    if (r.kind !== 'vv') throw new Error('expected a .vv');
    expect(r.body).toMatch(/^host=gw\.example\.org$/m);
    expect(r.body).toMatch(/^password=\S+$/m);
    expect(await metricValue(registry, 'deskplane_pool_time_to_console_seconds_count', { tenant: 'team-a', pool: 'office' })).toBe(1);
    expect((await log.query({ limit: 5 })).map((e) => e.action)).toEqual(['console.open', 'pool.claim']);
  });

  it('waits for a cold desktop to run, then answers with its browser console', async () => {
    await addPoolDesktop(store, 'team-a', 'office', 'office-aaaaa', { runStrategy: 'Halted' });
    await setPhase(store, 'team-a', 'office-aaaaa', 'Stopped');
    const asked = pools({ consoleWaitMs: 5_000 }).console(alice, 'office', 'browser');
    await new Promise((r) => setTimeout(r, 150));
    // The operator saw runStrategy Always and started it; the orchestrator writes Running.
    const d = await clients(store).desktops.get('office-aaaaa', 'team-a');
    expect(d?.spec).toMatchObject({ owner: 'alice', runStrategy: 'Always' });
    await embeddedSecretStore(store).ensure({ namespace: 'team-a', name: 'office-aaaaa', uid: d!.metadata.uid! });
    await setPhase(store, 'team-a', 'office-aaaaa', 'Running');
    const r = await asked;
    if (r.kind !== 'browser') throw new Error('expected a browser console');
    expect(new URLSearchParams(new URL(r.url).hash.slice(1)).get('desktop')).toBe('team-a/office-aaaaa');
    const seconds = await metricValue(registry, 'deskplane_pool_time_to_console_seconds_sum', { tenant: 'team-a', pool: 'office' });
    expect(seconds).toBeGreaterThanOrEqual(0.15);
  });

  it('is a 409 "still starting" past the wait; the desktop stays mine and asking again gets it back', async () => {
    await addPoolDesktop(store, 'team-a', 'office', 'office-aaaaa');
    await setPhase(store, 'team-a', 'office-aaaaa', 'Provisioning');
    const t0 = Date.now();
    const err = await refusal(pools({ consoleWaitMs: 300 }).console(alice, 'office', 'vv'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect([err.status, (err as Conflict).reason]).toEqual([409, 'starting']);
    expect(err.message).toMatch(/still starting \(Provisioning/);
    expect(await owner('office-aaaaa')).toBe('alice');
    await warm('office', 'office-bbbbb');
    const again = await refusal(pools({ consoleWaitMs: 0 }).console(alice, 'office', 'vv'));
    expect((again as Conflict).reason).toBe('starting');
    expect((await pools().claim(alice, 'office')).desktop.name).toBe('office-aaaaa');
  });

  it('says so when the claimed desktop fails, and refuses a bad kind before claiming anything', async () => {
    await addPoolDesktop(store, 'team-a', 'office', 'office-aaaaa');
    const asked = pools({ consoleWaitMs: 5_000 }).console(alice, 'office', 'vv');
    await new Promise((r) => setTimeout(r, 60));
    await setPhase(store, 'team-a', 'office-aaaaa', 'Failed');
    expect(await refusal(asked)).toMatchObject({ status: 409, reason: 'failed' });
    await addPoolDesktop(store, 'team-a', 'office', 'office-bbbbb');
    const bad = await refusal(pools().console(bob, 'office', 'spice' as 'vv'));
    expect([bad.status, bad.field]).toEqual([400, 'kind']);
    expect(await owner('office-bbbbb')).toBeUndefined();
  });

  it('stops waiting when the caller goes away', async () => {
    await addPoolDesktop(store, 'team-a', 'office', 'office-aaaaa');
    const gone = new AbortController();
    const asked = pools({ consoleWaitMs: 60_000 }).console(alice, 'office', 'vv', { signal: gone.signal });
    setTimeout(() => gone.abort(), 50);
    const t0 = Date.now();
    await expect(asked).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
