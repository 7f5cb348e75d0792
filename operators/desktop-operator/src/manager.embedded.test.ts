/**
 * The whole manager on the embedded backend (no kube, no Redis, no agents): the same
 * loops as on a cluster, showing the backend-agnostic path.
 */
import { API_VERSION, getCondition } from '@deskplane/api';
import { QUEUES } from '@deskplane/queue-contracts';
import { EmbeddedStore } from '@deskplane/resource-store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deskplaneSchemas } from './backends';
import type { AgentHostInfo, HostAgentProbe } from './controllers/kvm-host/probe';
import { createLogger } from './log';
import { Manager } from './manager';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject, type PolicyObject, type TemplateObject } from './resources';
import { MemoryJobQueue } from './testing/memory-job-queue';
import { waitForObject } from './testing/wait-for-object';

const GiB = 1024 ** 3;
const NS = 'team-a';
const info: AgentHostInfo = {
  hostname: 'h1.example',
  hypervisor: 'kvm',
  libvirtVersion: '9.0.0',
  qemuVersion: '7.2.0',
  agentVersion: '0.1.0',
  capacity: { vcpus: 8, memoryBytes: 16 * GiB, diskBytes: 500 * GiB },
  allocated: { vcpus: 0, memoryBytes: 0, diskBytes: 0 },
  guestCount: 0,
};
/** Only h1's "agent" answers; h2 has no agent and gets its status written by the test. */
const probe: HostAgentProbe = {
  getHostInfo: (endpoint) => (endpoint === 'h1:7443' ? Promise.resolve(info) : Promise.reject(new Error(`no agent at ${endpoint}`))),
  close: () => undefined,
};

const meta = (name: string, namespace?: string) => ({ apiVersion: API_VERSION, metadata: { name, ...(namespace ? { namespace } : {}) } });

describe('manager on the embedded store', () => {
  const store = new EmbeddedStore({ schemas: deskplaneSchemas() });
  const jobs = new MemoryJobQueue();
  const hosts = store.client<HostObject>(RESOURCE_TYPES.KvmHost);
  const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const templates = store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate);
  const migrations = store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration);
  const policies = store.client<PolicyObject>(RESOURCE_TYPES.DesktopPolicy);
  let manager: Manager;

  const waitFor = waitForObject;

  beforeAll(async () => {
    await hosts.create({ ...meta('h1'), kind: 'KvmHost', spec: { agentEndpoint: 'h1:7443' } });
    const h2 = await hosts.create({ ...meta('h2'), kind: 'KvmHost', spec: { agentEndpoint: 'h2:7443' } });
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await hosts.updateStatus({
      ...h2,
      status: {
        allocatable: { vcpus: 4, memory: '8Gi', disk: '100Gi' },
        heartbeatTime: now,
        conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'written by the test', lastTransitionTime: now }],
      },
    });
    await templates.create({ ...meta('small', NS), kind: 'DesktopTemplate', spec: { image: 'debian-12', vcpus: 2, memory: '4Gi' } });
    await templates.create({ ...meta('huge', NS), kind: 'DesktopTemplate', spec: { image: 'debian-12', vcpus: 2, memory: '512Gi' } });

    manager = new Manager({
      store,
      jobs,
      probe,
      log: createLogger({ level: 'silent' }),
      config: {
        lease: { name: 'deskplane-operator', namespace: 'default', durationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 100 },
        identity: 'test-1',
        heartbeatIntervalMs: 200,
        heartbeatTimeoutMs: 100,
        heartbeatGraceMs: 60_000,
        unschedulableRetryMs: 500,
        resyncMs: 0,
        workers: 2,
        scheduler: { strategy: 'spread' },
        deprovisionPollMs: 50,
      },
    });
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    await store.close();
  });

  it('leads as the only replica', async () => {
    await vi.waitFor(() => expect(manager.isLeader).toBe(true));
    expect(await manager.metrics.registry.getSingleMetricAsString('deskplane_operator_leader')).toMatch(/deskplane_operator_leader 1/);
  });

  it('heartbeats the host that has an agent and keeps the one written directly', async () => {
    const h1 = await waitFor(hosts, 'h1', (h) => getCondition(h?.status?.conditions, 'Ready')?.status === 'True');
    expect(h1.status).toMatchObject({ capacity: { vcpus: 8, memory: '16Gi' }, hypervisor: { type: 'kvm' } });
    const h2 = await hosts.get('h2');
    expect(getCondition(h2?.status?.conditions, 'Ready')?.status).toBe('True'); // within the grace period
  });

  it('schedules a desktop, records the decision and enqueues provisioning', async () => {
    await desktops.create({ ...meta('d1', NS), kind: 'VirtualDesktop', spec: { templateRef: { name: 'small' }, owner: 'alice' } });
    const d1 = await waitFor(desktops, 'd1', (d) => d?.status?.phase === 'Provisioning', NS);
    expect(d1.status?.host).toBe('h1'); // spread: 8 vCPUs free beats 4
    expect(d1.metadata.finalizers).toEqual(['deskplane.io/desktop-cleanup']);
    expect(d1.metadata.labels).toEqual({ 'deskplane.io/host': 'h1' });
    expect(getCondition(d1.status?.conditions, 'Scheduled')).toMatchObject({ status: 'True', reason: 'HostSelected', observedGeneration: 1 });
    await vi.waitFor(() => expect(jobs.byAction('provision').map((j) => j.jobId)).toEqual([`provision.${d1.metadata.uid}.g1`]));
    expect(await store.events.list(d1)).toContainEqual(expect.objectContaining({ type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned team-a/d1 to h1' }));
  });

  it('says why an impossible desktop cannot be placed', async () => {
    const big = await desktops.create({ ...meta('big', NS), kind: 'VirtualDesktop', spec: { templateRef: { name: 'huge' }, owner: 'bob' } });
    const d = await waitFor(desktops, 'big', (o) => getCondition(o?.status?.conditions, 'Scheduled')?.reason === 'Unschedulable', NS);
    expect(d.status?.phase).toBe('Pending');
    expect(getCondition(d.status?.conditions, 'Scheduled')?.message).toBe('0/2 hosts available: 2 insufficient memory');
    expect(await store.events.list(big)).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'FailedScheduling', message: '0/2 hosts available: 2 insufficient memory' }));
  });

  it('picks a migration target through the scheduler and hands it to the queue', async () => {
    await migrations.create({ ...meta('m1', NS), kind: 'DesktopMigration', spec: { desktopName: 'd1' } });
    const m = await waitFor(migrations, 'm1', (o) => o?.status?.phase === 'PreparingTarget', NS);
    expect(m.status).toMatchObject({ sourceHost: 'h1', targetHost: 'h2' });
    await vi.waitFor(() => expect(jobs.byAction('migrate')).toHaveLength(1));
    await migrations.create({ ...meta('m2', NS), kind: 'DesktopMigration', spec: { desktopName: 'd1', targetHost: 'nowhere' } });
    const m2 = await waitFor(migrations, 'm2', (o) => o?.status?.phase === 'Failed', NS);
    expect(getCondition(m2.status?.conditions, 'Ready')).toMatchObject({ reason: 'TargetNotFound', message: 'KvmHost "nowhere" not found' });
  });

  it('validates policies', async () => {
    await policies.create({ ...meta('bad', NS), kind: 'DesktopPolicy', spec: { subjects: { allUsersInNamespace: true }, bandwidth: { totalKbps: 100, perChannel: { display: 200 } } } });
    const p = await waitFor(policies, 'bad', (o) => getCondition(o?.status?.conditions, 'Valid') !== undefined, NS);
    expect(getCondition(p.status?.conditions, 'Valid')).toMatchObject({ status: 'False', reason: 'InvalidPolicy', observedGeneration: 1 });
  });

  it('holds a deleted desktop on its finalizer until the deprovision job completes', async () => {
    await desktops.delete('d1', NS);
    const d1 = await waitFor(desktops, 'd1', (d) => d?.status?.phase === 'Deleting', NS);
    expect(d1.metadata.deletionTimestamp).toBeDefined();
    const job = await vi.waitFor(() => {
      const j = jobs.byAction('deprovision')[0];
      if (!j) throw new Error('no deprovision job yet');
      return j;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(await desktops.get('d1', NS)).toBeDefined();
    jobs.setState(QUEUES.lifecycle, job.jobId, 'completed');
    await waitFor(desktops, 'd1', (d) => d === undefined, NS);
  });

  it('releases a never-placed desktop at once', async () => {
    await desktops.delete('big', NS);
    await waitFor(desktops, 'big', (d) => d === undefined, NS);
  });
});
