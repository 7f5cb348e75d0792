/**
 * The pool loop inside the whole manager on the embedded store (no kube, no Redis, no
 * agents). The test plays the orchestrator: it takes the jobs the desktop loop enqueues
 * and writes the phases a real worker would (provision → Running or Stopped by run
 * strategy, start → Running with console, stop → Stopped, deprovision → done).
 * Then the manager's periodic tasks: leader only, one pass at a time, stopped with it.
 */
import { API_VERSION, getCondition, setCondition } from '@deskplane/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedStore, retryOnConflict } from '@deskplane/resource-store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deskplaneSchemas } from '../../backends';
import { createLogger } from '../../log';
import { Manager, type ManagerConfig } from '../../manager';
import type { PeriodicTask } from '../../runtime/periodic';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type PoolObject, type TemplateObject } from '../../resources';
import { MemoryJobQueue } from '../../testing/memory-job-queue';
import { waitForObject } from '../../testing/wait-for-object';
import { TENANT_TYPE, type TenantObject } from './reconciler';

const NS = 'pools';
const stamp = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const meta = (name: string, namespace?: string) => ({ apiVersion: API_VERSION, metadata: { name, ...(namespace ? { namespace } : {}) } });
const probe = { getHostInfo: (e: string) => Promise.reject(new Error(`no agent at ${e}`)), close: () => undefined };
const testConfig = (identity: string): ManagerConfig => ({
  lease: { name: 'deskplane-operator', namespace: 'default', durationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 100 },
  identity,
  heartbeatIntervalMs: 200,
  heartbeatTimeoutMs: 100,
  heartbeatGraceMs: 60_000,
  unschedulableRetryMs: 300,
  resyncMs: 0,
  workers: 2,
  scheduler: { strategy: 'spread' },
  deprovisionPollMs: 50,
});

/** Plays the orchestrator's workers against the MemoryJobQueue, every 20 ms. */
function fakeOrchestrator(jobs: MemoryJobQueue, desktops: ReturnType<EmbeddedStore['client']>) {
  const status = (ref: { namespace: string; name: string; uid: string }, s: NonNullable<DesktopObject['status']>) =>
    retryOnConflict(desktops, ref.name, ref.namespace, (d) => (d.metadata.uid === ref.uid ? { ...d, status: { ...(d.status as object), ...s } } : undefined), { status: true });
  const timer = setInterval(() => {
    for (const [, j] of jobs.jobs) {
      if (j.state !== 'waiting') continue;
      j.state = 'completed';
      const data = j.req.data as unknown as { action: string; desktop: { namespace: string; name: string; uid: string }; runStrategy?: string };
      const running = { phase: 'Running' as const, console: { ready: true } };
      const stopped = { phase: 'Stopped' as const, console: { ready: false } };
      if (data.action === 'provision') void status(data.desktop, data.runStrategy === 'Always' ? running : stopped);
      if (data.action === 'start') void status(data.desktop, running);
      if (data.action === 'stop') void status(data.desktop, stopped);
    }
  }, 20);
  return { stop: () => clearInterval(timer) };
}

describe('DesktopPool on the embedded store', { timeout: 30_000 }, () => {
  const store = new EmbeddedStore({ schemas: deskplaneSchemas() });
  const jobs = new MemoryJobQueue();
  const hosts = store.client<HostObject>(RESOURCE_TYPES.KvmHost);
  const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const pools = store.client<PoolObject>(RESOURCE_TYPES.DesktopPool);
  const orchestrator = fakeOrchestrator(jobs, desktops);
  let manager: Manager;

  const members = async (pool: string, ns = NS) => (await desktops.list({ namespace: ns })).items.filter((d) => d.spec.poolRef?.name === pool);
  const live = async (pool: string, ns = NS) => (await members(pool, ns)).filter((d) => !d.metadata.deletionTimestamp);
  const events = async (pool: string, ns = NS) => store.events.list({ kind: 'DesktopPool', metadata: { name: pool, namespace: ns } });
  const poolStatus = (name: string, ok: (p: PoolObject | undefined) => boolean, ns = NS) => vi.waitFor(() => waitForObject(pools, name, ok, ns), { timeout: 10_000 });
  const strategies = (ds: DesktopObject[]) => ds.map((d) => d.spec.runStrategy).sort();

  beforeAll(async () => {
    await hosts.create({ ...meta('h1'), kind: 'KvmHost', spec: { agentEndpoint: 'h1:7443' } });
    for (const ns of [NS, 'quota']) {
      await store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate).create({ ...meta('small', ns), kind: 'DesktopTemplate', spec: { image: 'debian-12', vcpus: 1, memory: '1Gi' } });
    }
    manager = new Manager({ store, jobs, probe, log: createLogger({ level: 'silent' }), config: testConfig('pool-test') });
    await manager.start();
    await vi.waitFor(() => expect(manager.isLeader).toBe(true));
    await waitForObject(hosts, 'h1', (h) => getCondition(h?.status?.conditions, 'Ready') !== undefined);
    await retryOnConflict(
      hosts,
      'h1',
      undefined,
      (h) => ({
        ...h,
        status: {
          ...h.status,
          allocatable: { vcpus: 64, memory: '128Gi', disk: '2000Gi' },
          heartbeatTime: stamp(),
          conditions: setCondition(h.status?.conditions, { type: 'Ready', status: 'True', reason: 'AgentReady', message: 'written by the test' }, new Date()),
        },
      }),
      { status: true },
    );
  });

  afterAll(async () => {
    orchestrator.stop();
    await manager?.stop();
    await store.close();
  });

  it('fills a pool of 4 with warm 2: two started, two defined; Ready once the warm ones run', async () => {
    await pools.create({ ...meta('train', NS), kind: 'DesktopPool', spec: { templateRef: { name: 'small' }, size: 4, warm: 2, assignment: 'Floating' } });
    const p = await poolStatus('train', (o) => o?.status?.ready === 2 && getCondition(o.status.conditions, 'Ready')?.status === 'True');
    expect(p.status).toMatchObject({ desktops: 4, ready: 2, claimed: 0, starting: 0, resetting: 0, warm: 2, observedGeneration: 1 });
    expect(getCondition(p.status?.conditions, 'Ready')).toMatchObject({ reason: 'PoolReady', message: '2/2 warm desktops ready, 4/4 desktops (0 claimed)' });
    expect(p.metadata.finalizers).toContain('deskplane.io/pool-cleanup');
    const ds = await members('train');
    expect(ds).toHaveLength(4);
    expect(strategies(ds)).toEqual(['Always', 'Always', 'Halted', 'Halted']);
    for (const d of ds) {
      expect(d.metadata.name).toMatch(/^train-[a-z0-9]{5}$/);
      expect(d.metadata.labels?.['deskplane.io/pool']).toBe('train');
      expect(d.spec).toMatchObject({ templateRef: { name: 'small' }, poolRef: { name: 'train' }, persistent: false });
      expect(d.spec.owner).toBeUndefined();
    }
    expect(ds.filter((d) => d.status?.phase === 'Stopped')).toHaveLength(2);
    expect((await events('train')).filter((e) => e.reason === 'DesktopCreated')).toHaveLength(4);
    const metrics = await manager.metrics.registry.getSingleMetricAsString('deskplane_pool_desktops');
    expect(metrics).toContain('deskplane_pool_desktops{namespace="pools",pool="train",state="ready"} 2');
    expect(metrics).toContain('deskplane_pool_desktops{namespace="pools",pool="train",state="cold"} 2');
  });

  it('a claim takes a warm desktop out of the warm set: a defined one is started', async () => {
    const warm = (await members('train')).find((d) => d.status?.phase === 'Running')!;
    // What the API's claim does: one optimistic update of owner + runStrategy.
    await desktops.update({ ...warm, metadata: { ...warm.metadata, annotations: { 'deskplane.io/claimed-at': stamp() } }, spec: { ...warm.spec, owner: 'alice', runStrategy: 'Always' } });
    const p = await poolStatus('train', (o) => o?.status?.claimed === 1 && o.status.ready === 2);
    expect(p.status).toMatchObject({ desktops: 4, ready: 2, claimed: 1 });
    const unclaimed = (await members('train')).filter((d) => !d.spec.owner);
    expect(strategies(unclaimed)).toEqual(['Always', 'Always', 'Halted']);
  });

  it('a recycled desktop is deleted and a fresh one takes its place', async () => {
    const claimed = (await members('train')).find((d) => d.spec.owner === 'alice')!;
    await retryOnConflict(desktops, claimed.metadata.name, NS, (d) => ({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, 'deskplane.io/recycle': 'logout' } } }));
    await waitForObject(desktops, claimed.metadata.name, (d) => d === undefined, NS);
    const p = await poolStatus('train', (o) => o?.status?.claimed === 0 && o.status.ready === 2 && o.status.desktops === 4 && o.status.resetting === 0);
    expect(p.status?.desktops).toBe(4);
    const now = await live('train');
    expect(now.map((d) => d.metadata.name)).not.toContain(claimed.metadata.name);
    expect(strategies(now)).toEqual(['Always', 'Always', 'Halted', 'Halted']);
    expect(await events('train')).toContainEqual(expect.objectContaining({ reason: 'DesktopRecycled', message: `deleting ${claimed.metadata.name} to reset it (logout); a fresh desktop replaces it` }));
  });

  it('scale 4 → 2 removes unclaimed desktops, defined ones first, and keeps the claimed one', async () => {
    const warm = (await live('train')).filter((d) => d.status?.phase === 'Running');
    await desktops.update({ ...warm[0]!, spec: { ...warm[0]!.spec, owner: 'bob' } });
    await poolStatus('train', (o) => o?.status?.claimed === 1 && o.status.ready === 2);
    const before = await live('train');
    const cold = before.filter((d) => d.spec.runStrategy === 'Halted').map((d) => d.metadata.name);
    expect(cold).toHaveLength(1); // bob's claim started a defined one: 1 left
    await retryOnConflict(pools, 'train', NS, (p) => ({ ...p, spec: { ...p.spec, size: 2, warm: 1 } }));
    const p = await poolStatus('train', (o) => o?.status?.observedGeneration === 2 && o.status.desktops === 2 && o.status.resetting === 0);
    const after = await live('train');
    expect(after.map((d) => d.spec.owner).sort()).toEqual(['bob', undefined]);
    for (const name of cold) expect(after.map((d) => d.metadata.name)).not.toContain(name);
    expect(p.status).toMatchObject({ desktops: 2, claimed: 1, ready: 1, warm: 1 });
    expect(await events('train')).toContainEqual(expect.objectContaining({ reason: 'ScaledIn' }));
  });

  it('the tenant quota stops the pool short and says which limit', async () => {
    await store.client<TenantObject>(TENANT_TYPE).create({ ...meta('quota'), kind: 'Tenant', spec: { quota: { desktops: 2 } } });
    await pools.create({ ...meta('q', 'quota'), kind: 'DesktopPool', spec: { templateRef: { name: 'small' }, size: 3, warm: 1 } });
    const p = await poolStatus('q', (o) => getCondition(o?.status?.conditions, 'Degraded')?.status === 'True' && o?.status?.desktops === 2, 'quota');
    const message = 'quota exceeded: desktops 2/2 used, this desktop needs 1; 1 pool desktop(s) not created';
    expect(getCondition(p.status?.conditions, 'Degraded')).toMatchObject({ reason: 'QuotaExceeded', message });
    expect(await live('q', 'quota')).toHaveLength(2);
    expect((await events('q', 'quota')).filter((e) => e.type === 'Warning' && e.reason === 'QuotaExceeded')).toEqual([expect.objectContaining({ message })]);
    // More quota: the retry fills the pool without any other change.
    await retryOnConflict(store.client<TenantObject>(TENANT_TYPE), 'quota', undefined, (t) => ({ ...t, spec: { quota: { desktops: 3 } } }));
    await poolStatus('q', (o) => o?.status?.desktops === 3 && getCondition(o.status.conditions, 'Degraded')?.status === 'False', 'quota');
  });

  it('deleting the pool deletes its unclaimed desktops and leaves the claimed one', async () => {
    await pools.delete('train', NS);
    await waitForObject(pools, 'train', (p) => p === undefined, NS);
    await vi.waitFor(async () => expect((await members('train')).map((d) => d.spec.owner)).toEqual(['bob']), { timeout: 10_000 });
    expect(await manager.metrics.registry.getSingleMetricAsString('deskplane_pool_desktops')).not.toContain('pool="train"');
  });
});

describe('periodic tasks on the embedded store', { timeout: 20_000 }, () => {
  const store = new EmbeddedStore({ schemas: deskplaneSchemas() });
  const runs: string[] = [];
  let aborted = 0;
  let inFlight = 0;
  let overlapped = false;
  /** Counts passes by replica; the first pass of each replica throws; a pass sees the caches. */
  const task = (identity: string): PeriodicTask => ({
    name: 'probe',
    intervalMs: 30,
    async run(view, signal) {
      overlapped ||= inFlight > 0;
      inFlight++;
      try {
        runs.push(`${identity}:${view.pools.hasSynced && view.desktops.hasSynced}`);
        if (runs.filter((r) => r.startsWith(identity)).length === 1) throw new Error('first pass fails');
        await sleep(60, undefined, { signal }).catch(() => {
          aborted++;
        });
      } finally {
        inFlight--;
      }
    },
  });
  const start = async (identity: string) => {
    const m = new Manager({ store, jobs: new MemoryJobQueue(), probe, log: createLogger({ level: 'silent' }), config: testConfig(identity), tasks: [task(identity)] });
    await m.start();
    return m;
  };
  const count = (identity: string) => runs.filter((r) => r.startsWith(`${identity}:`)).length;

  afterAll(() => store.close());

  it('run on the leader only, survive a failing pass, and stop (aborted) with leadership', async () => {
    const a = await start('a');
    await vi.waitFor(() => expect(a.isLeader).toBe(true));
    const b = await start('b');
    await vi.waitFor(() => expect(count('a')).toBeGreaterThanOrEqual(3));
    expect(count('b')).toBe(0);
    expect(runs.filter((r) => r.startsWith('a:'))).toEqual(Array(count('a')).fill('a:true'));
    expect(await a.metrics.registry.getSingleMetricAsString('deskplane_operator_task_runs_total')).toContain('deskplane_operator_task_runs_total{task="probe",outcome="error"} 1');

    await a.stop(); // leadership goes to b; a's pass in flight is aborted, not waited out
    const afterStop = count('a');
    expect(aborted).toBeGreaterThanOrEqual(1);
    await vi.waitFor(() => expect(b.isLeader).toBe(true), { timeout: 5_000 });
    await vi.waitFor(() => expect(count('b')).toBeGreaterThanOrEqual(2));
    expect(count('a')).toBe(afterStop);
    await b.stop();
    const final = count('b');
    await sleep(150);
    expect(count('b')).toBe(final);
    expect(overlapped).toBe(false);
  });
});
