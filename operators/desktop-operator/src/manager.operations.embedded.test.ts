/**
 * Day-2 operations on the embedded store (no kube, no agents, no workers): run strategy,
 * host drain, abort by delete, host NotReady. Host status is written by the test; the
 * test plays the orchestrator by writing the phases and hosts it would write.
 */
import { API_VERSION, getCondition, setCondition, type VirtualDesktop } from '@deskplane/api';
import { QUEUES } from '@deskplane/queue-contracts';
import { EmbeddedStore, retryOnConflict, type KubeObject } from '@deskplane/resource-store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deskplaneSchemas } from './backends';
import type { HostAgentProbe } from './controllers/kvm-host/probe';
import { createLogger } from './log';
import { Manager } from './manager';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject, type TemplateObject } from './resources';
import { MemoryJobQueue } from './testing/memory-job-queue';
import { waitForObject } from './testing/wait-for-object';

const probe: HostAgentProbe = { getHostInfo: (endpoint) => Promise.reject(new Error(`no agent at ${endpoint}`)), close: () => undefined };
const stamp = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const meta = (name: string, namespace?: string, labels?: Record<string, string>) => ({ apiVersion: API_VERSION, metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) } });
type Status = NonNullable<VirtualDesktop['status']>;

describe('manager on the embedded store: day-2 operations', { timeout: 20_000 }, () => {
  const store = new EmbeddedStore({ schemas: deskplaneSchemas() });
  const jobs = new MemoryJobQueue();
  const hosts = store.client<HostObject>(RESOURCE_TYPES.KvmHost);
  const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const templates = store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate);
  const migrations = store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration);
  let manager: Manager;

  const waitFor = waitForObject;

  /** A host "heartbeated" by the test: Ready as given, room for 8 small desktops. */
  const setReady = (name: string, ready: 'True' | 'False') =>
    retryOnConflict(
      hosts,
      name,
      undefined,
      (h) => ({
        ...h,
        status: {
          ...h.status,
          allocatable: { vcpus: 16, memory: '32Gi', disk: '1000Gi' },
          heartbeatTime: stamp(),
          conditions: setCondition(h.status?.conditions, { type: 'Ready', status: ready, reason: ready === 'True' ? 'AgentReady' : 'AgentUnreachable', message: ready === 'True' ? 'written by the test' : 'no heartbeat for 45s: written by the test' }, new Date()),
        },
      }),
      { status: true },
    );
  const createHost = async (name: string, scenario: string, spec: Partial<HostObject['spec']> = {}) => {
    await hosts.create({ ...meta(name, undefined, { scenario }), kind: 'KvmHost', spec: { agentEndpoint: `${name}:7443`, ...spec } });
    // After the host loop's first word (Unknown, AwaitingHeartbeat): from then on it keeps what the test writes (within the grace period).
    await waitFor(hosts, name, (h) => getCondition(h?.status?.conditions, 'Ready') !== undefined);
    await setReady(name, 'True');
  };
  const hostSpec = (name: string, spec: Partial<HostObject['spec']>) => retryOnConflict(hosts, name, undefined, (h) => ({ ...h, spec: { ...h.spec, ...spec } }));
  const createDesktop = (name: string, ns: string, scenario: string, spec: Partial<DesktopObject['spec']> = {}) =>
    desktops.create({ ...meta(name, ns), kind: 'VirtualDesktop', spec: { templateRef: { name: 'small' }, owner: 'alice', placement: { hostSelector: { scenario } }, ...spec } });
  const desktopSpec = (name: string, ns: string, spec: Partial<DesktopObject['spec']>) => retryOnConflict(desktops, name, ns, (d) => ({ ...d, spec: { ...d.spec, ...spec } }));
  /** What the orchestrator writes on a desktop. */
  const orchestrate = (name: string, ns: string, status: Partial<Status>) => retryOnConflict(desktops, name, ns, (d) => ({ ...d, status: { ...d.status, ...status } }), { status: true });
  const migrationStatus = (name: string, ns: string, status: Partial<NonNullable<MigrationObject['status']>>) =>
    retryOnConflict(migrations, name, ns, (m) => ({ ...m, status: { ...m.status, ...status } }), { status: true });
  const jobIds = (action: string, uid: string | undefined) => jobs.byAction(action).map((j) => j.jobId).filter((id) => id.includes(`.${uid}.`));
  const settle = () => new Promise((r) => setTimeout(r, 300));
  /** Events are recorded after the status write that a test waits for: poll for them too. */
  const eventually = (o: KubeObject, match: (e: { type: string; reason: string; message: string }) => boolean) =>
    vi.waitFor(
      async () => {
        const e = (await store.events.list(o)).find(match);
        if (!e) throw new Error(`no such event about ${o.metadata.name}`);
        return e;
      },
      { timeout: 5_000, interval: 20 },
    );

  beforeAll(async () => {
    for (const ns of ['ops-a', 'ops-b']) await templates.create({ ...meta('small', ns), kind: 'DesktopTemplate', spec: { image: 'debian-12', vcpus: 2, memory: '4Gi' } });
    manager = new Manager({
      store,
      jobs,
      probe,
      log: createLogger({ level: 'silent' }),
      config: {
        lease: { name: 'deskplane-operator', namespace: 'default', durationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 100 },
        identity: 'test-ops',
        heartbeatIntervalMs: 200,
        heartbeatTimeoutMs: 100,
        heartbeatGraceMs: 60_000,
        unschedulableRetryMs: 300,
        resyncMs: 0,
        workers: 2,
        scheduler: { strategy: 'spread' },
        deprovisionPollMs: 50,
      },
    });
    await manager.start();
    await vi.waitFor(() => expect(manager.isLeader).toBe(true));
  });

  afterAll(async () => {
    await manager?.stop();
    await store.close();
  });

  it('run strategy: each change enqueues the right start / stop job once', async () => {
    await createHost('rs-1', 'rs');
    const created = await createDesktop('rs-d', 'ops-a', 'rs');
    const uid = created.metadata.uid;
    await waitFor(desktops, 'rs-d', (d) => d?.status?.phase === 'Provisioning', 'ops-a');
    await orchestrate('rs-d', 'ops-a', { phase: 'Running' });
    await settle();
    expect([...jobIds('start', uid), ...jobIds('stop', uid)]).toEqual([]); // Always + Running: nothing to do

    await desktopSpec('rs-d', 'ops-a', { runStrategy: 'Halted' }); // generation 2
    await vi.waitFor(() => expect(jobIds('stop', uid)).toEqual([`stop.${uid}.g2`]));
    expect(jobs.byAction('stop').find((j) => j.jobId === `stop.${uid}.g2`)?.data).toMatchObject({ action: 'stop', host: 'rs-1', desktop: { name: 'rs-d', generation: 2 } });
    await orchestrate('rs-d', 'ops-a', { phase: 'Stopping' });
    await orchestrate('rs-d', 'ops-a', { phase: 'Stopped' });

    await desktopSpec('rs-d', 'ops-a', { runStrategy: 'Always' }); // generation 3
    await vi.waitFor(() => expect(jobIds('start', uid)).toEqual([`start.${uid}.g3`]));
    await orchestrate('rs-d', 'ops-a', { phase: 'Running' });

    await desktopSpec('rs-d', 'ops-a', { runStrategy: 'Manual' }); // generation 4: users decide
    await orchestrate('rs-d', 'ops-a', { phase: 'Stopped' }); // e.g. shut down from inside
    await settle();
    expect(jobIds('start', uid)).toEqual([`start.${uid}.g3`]);
    expect(jobIds('stop', uid)).toEqual([`stop.${uid}.g2`]);
    await eventually(created, (e) => e.reason === 'StartRequested');
    expect((await store.events.list(created)).filter((e) => e.reason === 'StopRequested' || e.reason === 'StartRequested').map((e) => `${e.reason} x${e.count}`)).toEqual(['StopRequested x1', 'StartRequested x1']);
  });

  it('host drain: maintenance makes one labelled migration per desktop; Drained once they have moved', async () => {
    await createHost('dr-src', 'dr');
    await createHost('dr-dst', 'dr', { schedulable: false }); // everything lands on dr-src first
    const names = [['dr-1', 'ops-a'], ['dr-2', 'ops-a'], ['dr-3', 'ops-b'], ['dr-4', 'ops-b']] as const;
    for (const [n, ns] of names) await createDesktop(n, ns, 'dr');
    for (const [n, ns] of names) {
      const d = await waitFor(desktops, n, (o) => o?.status?.phase === 'Provisioning', ns);
      expect(d.status?.host).toBe('dr-src');
      await orchestrate(n, ns, { phase: 'Running' });
    }
    await hostSpec('dr-dst', { schedulable: true });
    await hostSpec('dr-src', { maintenance: true });

    const drainMigrations = () => migrations.list({ labelSelector: { 'deskplane.io/drain': 'dr-src' } }).then((l) => l.items);
    const made = await vi.waitFor(
      async () => {
        const items = await drainMigrations();
        if (items.length < 4 || items.some((m) => m.status?.phase !== 'PreparingTarget')) throw new Error(JSON.stringify(items.map((m) => [m.metadata.name, m.status?.phase])));
        return items;
      },
      { timeout: 5_000, interval: 20 },
    );
    expect(made.map((m) => `${m.metadata.namespace}/${m.spec.desktopName}`).sort()).toEqual(['ops-a/dr-1', 'ops-a/dr-2', 'ops-b/dr-3', 'ops-b/dr-4']);
    for (const m of made) {
      expect(m.metadata.name).toMatch(new RegExp(`^drain-${m.spec.desktopName}-[0-9a-f]{8}$`));
      expect(m.metadata.ownerReferences ?? []).toEqual([]);
      expect(m.spec.targetHost).toBeUndefined();
      expect(m.metadata.finalizers).toEqual(['deskplane.io/migration-abort']);
      expect(m.status).toMatchObject({ sourceHost: 'dr-src', targetHost: 'dr-dst' }); // never a host in maintenance
    }
    const draining = await waitFor(hosts, 'dr-src', (h) => getCondition(h?.status?.conditions, 'Drained')?.reason === 'Draining');
    expect(getCondition(draining.status?.conditions, 'Drained')?.message).toBe('4 desktops still on dr-src');
    expect(await eventually(draining, (e) => e.reason === 'DrainStarted')).toMatchObject({ type: 'Normal', message: 'maintenance on: moving 4 desktops off dr-src' });

    // The orchestrator moves them, 2 at a time (its limit): Migrating, the desktop's new host, Succeeded. The count follows.
    const move = async (m: MigrationObject) => {
      const ns = m.metadata.namespace!;
      await migrationStatus(m.metadata.name, ns, { phase: 'Migrating' });
      await orchestrate(m.spec.desktopName, ns, { host: 'dr-dst' });
      await migrationStatus(m.metadata.name, ns, { phase: 'Succeeded' });
    };
    for (const m of made.slice(0, 2)) await move(m);
    await waitFor(hosts, 'dr-src', (h) => getCondition(h?.status?.conditions, 'Drained')?.message === '2 desktops still on dr-src');
    for (const m of made.slice(2)) await move(m);
    const drained = await waitFor(hosts, 'dr-src', (h) => getCondition(h?.status?.conditions, 'Drained')?.status === 'True');
    expect(getCondition(drained.status?.conditions, 'Drained')?.reason).toBe('Drained');
    expect(await eventually(drained, (e) => e.reason === 'Drained')).toMatchObject({ type: 'Normal', message: 'no desktop left on dr-src' });
    await settle();
    expect(await drainMigrations()).toHaveLength(4); // nothing made twice

    // Maintenance off: the finished drain's migrations are cleaned up, Drained False NotInMaintenance.
    await hostSpec('dr-src', { maintenance: false });
    await vi.waitFor(async () => expect(await drainMigrations()).toHaveLength(0), { timeout: 5_000, interval: 20 });
    await waitFor(hosts, 'dr-src', (h) => getCondition(h?.status?.conditions, 'Drained')?.reason === 'NotInMaintenance');
  });

  it('abort by delete: nothing running → gone at once; Migrating → held until the orchestrator aborts', async () => {
    await createHost('ab-1', 'ab');
    await createHost('ab-2', 'ab', { schedulable: false });
    await createDesktop('ab-d', 'ops-a', 'ab');
    await waitFor(desktops, 'ab-d', (d) => d?.status?.host === 'ab-1', 'ops-a');
    await orchestrate('ab-d', 'ops-a', { phase: 'Running' });
    await hostSpec('ab-2', { schedulable: true });

    await migrations.create({ ...meta('ab-m1', 'ops-a'), kind: 'DesktopMigration', spec: { desktopName: 'ab-d' } });
    const m1 = await waitFor(migrations, 'ab-m1', (m) => m?.status?.phase === 'PreparingTarget', 'ops-a');
    expect(m1.metadata.finalizers).toEqual(['deskplane.io/migration-abort']);
    await migrations.delete('ab-m1', 'ops-a');
    await waitFor(migrations, 'ab-m1', (m) => m === undefined, 'ops-a');

    await migrations.create({ ...meta('ab-m2', 'ops-a'), kind: 'DesktopMigration', spec: { desktopName: 'ab-d' } });
    await waitFor(migrations, 'ab-m2', (m) => m?.status?.phase === 'PreparingTarget', 'ops-a');
    await migrationStatus('ab-m2', 'ops-a', { phase: 'Migrating' }); // the orchestrator's job started moving memory
    await migrations.delete('ab-m2', 'ops-a');
    const held = await waitFor(migrations, 'ab-m2', (m) => getCondition(m?.status?.conditions, 'Progressing')?.reason === 'Aborting', 'ops-a');
    await settle();
    const stillThere = await migrations.get('ab-m2', 'ops-a');
    expect(stillThere?.metadata.finalizers).toEqual(['deskplane.io/migration-abort']);
    expect(stillThere?.metadata.deletionTimestamp).toBeDefined();
    expect(await eventually(held, (e) => e.reason === 'AbortRequested')).toMatchObject({ message: 'deleted while migrating: the orchestrator aborts it; the guest stays on ab-1' });
    // The orchestrator aborts and lets go.
    await migrationStatus('ab-m2', 'ops-a', { phase: 'Aborted' });
    await retryOnConflict(migrations, 'ab-m2', 'ops-a', (m) => ({ ...m, metadata: { ...m.metadata, finalizers: [] } }));
    await waitFor(migrations, 'ab-m2', (m) => m === undefined, 'ops-a');
  });

  it('a migration whose desktop is deleted ends Failed', async () => {
    await migrations.create({ ...meta('ab-m3', 'ops-a'), kind: 'DesktopMigration', spec: { desktopName: 'ab-d' } });
    await waitFor(migrations, 'ab-m3', (m) => m?.status?.phase === 'PreparingTarget', 'ops-a');
    await desktops.delete('ab-d', 'ops-a');
    const m3 = await waitFor(migrations, 'ab-m3', (m) => m?.status?.phase === 'Failed', 'ops-a');
    expect(getCondition(m3.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'DesktopDeleting' });
    // The desktop goes once its guest is deprovisioned; the Failed migration lets go of its finalizer on delete.
    const job = await vi.waitFor(() => {
      const j = jobs.byAction('deprovision').find((r) => r.data.desktop.name === 'ab-d');
      if (!j) throw new Error('no deprovision job yet');
      return j;
    });
    jobs.setState(QUEUES.lifecycle, job.jobId, 'completed');
    await waitFor(desktops, 'ab-d', (d) => d === undefined, 'ops-a');
    await migrations.delete('ab-m3', 'ops-a');
    await waitFor(migrations, 'ab-m3', (m) => m === undefined, 'ops-a');
  });

  it('host NotReady: a non-persistent desktop is rescheduled elsewhere, a persistent one marked until the host is back', async () => {
    await createHost('nr-1', 'nr');
    await createHost('nr-2', 'nr', { schedulable: false });
    const keep = await createDesktop('nr-keep', 'ops-a', 'nr');
    const move = await createDesktop('nr-move', 'ops-a', 'nr', { persistent: false });
    for (const n of ['nr-keep', 'nr-move']) {
      await waitFor(desktops, n, (d) => d?.status?.host === 'nr-1', 'ops-a');
      await orchestrate(n, 'ops-a', { phase: 'Running' });
    }
    await hostSpec('nr-2', { schedulable: true });
    await setReady('nr-1', 'False');

    const moved = await waitFor(desktops, 'nr-move', (d) => d?.status?.host === 'nr-2' && d.metadata.labels?.['deskplane.io/host'] === 'nr-2', 'ops-a');
    expect(moved.status?.phase).toBe('Provisioning');
    expect(moved.metadata.annotations).toMatchObject({ 'deskplane.io/evictions': '1' });
    const uid = move.metadata.uid!;
    await vi.waitFor(() => expect(jobIds('provision', uid)).toEqual([`provision.${uid}.g1`, `provision.${uid}.g1.e1`]));
    expect(jobs.byAction('provision').find((j) => j.jobId.endsWith('.e1'))?.data).toMatchObject({ host: 'nr-2' });
    const evicted = await eventually(move, (e) => e.reason === 'HostNotReady');
    expect(evicted?.type).toBe('Warning');
    expect(evicted?.message).toMatch(/^host nr-1 is not Ready \(no heartbeat for 45s: written by the test\): rescheduling/);

    const marked = await waitFor(desktops, 'nr-keep', (d) => getCondition(d?.status?.conditions, 'Ready')?.reason === 'HostNotReady', 'ops-a');
    expect(marked.status).toMatchObject({ host: 'nr-1', phase: 'Running' });
    expect(await eventually(keep, (e) => e.reason === 'HostNotReady')).toMatchObject({ type: 'Warning' });

    await setReady('nr-1', 'True');
    const back = await waitFor(desktops, 'nr-keep', (d) => getCondition(d?.status?.conditions, 'Ready')?.status === 'True', 'ops-a');
    expect(getCondition(back.status?.conditions, 'Ready')?.reason).toBe('Running');
    expect(back.status?.host).toBe('nr-1');
    expect(await eventually(keep, (e) => e.reason === 'HostReady')).toMatchObject({ type: 'Normal', message: 'host nr-1 is Ready again' });
  });
});
