/**
 * The operator against the testbed: a real kube-apiserver (CRDs, kubectl), two real host
 * agents on the testbed's libvirtd hosts, BullMQ on the testbed's Redis. The examples from
 * packages/api are applied with kubectl (names, endpoints and namespace adapted).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCondition, type DesktopMigration, type KvmHost, type VirtualDesktop } from '@deskplane/api';
import type { RunningHostAgent } from '@deskplane/host-agent';
import { BullJobQueue, QUEUES } from '@deskplane/queue-contracts';
import { KubernetesStore } from '@deskplane/resource-store';
import { loadState } from '@deskplane/testbed';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testbedHosts, type TestbedHosts } from '../../../services/host-agent/test/support/testbed-hosts';
import { GrpcHostAgentProbe } from '../src/controllers/kvm-host/probe';
import { createLogger } from '../src/log';
import { Manager } from '../src/manager';
import { startTestAgent } from './support/agents';
import { deleteEventsAbout, emptyNamespace, kubectl, kubectlJson } from './support/kubectl';
import { testManagerConfig } from './support/manager-config';

const ROOT = join(__dirname, '../../..');
const EXAMPLES = join(ROOT, 'packages/api/examples');
const run = randomBytes(3).toString('hex');
const ns = `op-e2e-${run}`;
const hostNames = [`op-${run}-kvm-1`, `op-${run}-kvm-2`];
const state = loadState();
const redis = { host: state.redis!.host, port: state.redis!.port };
const prefix = `op-e2e-${run}`;

const poll = { timeout: 60_000, interval: 250 };

describe('desktop operator on the testbed', () => {
  let tb: TestbedHosts;
  const agents: RunningHostAgent[] = [];
  let store: KubernetesStore;
  let jobs: BullJobQueue;
  let probe: GrpcHostAgentProbe;
  let manager: Manager;
  let dir: string;
  let worker: Worker | undefined;

  beforeAll(async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'packages/api/crds/')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'packages/api/crds/')]);
    await kubectl(['create', 'namespace', ns]);

    tb = testbedHosts();
    for (const h of tb.hosts.slice(0, 2)) agents.push(await startTestAgent(tb, h));

    // The examples, adapted: unique host names pointing at our agents, labelled for this run.
    dir = mkdtempSync(join(tmpdir(), 'op-e2e-'));
    const hostsYaml = readFileSync(join(EXAMPLES, '00-kvmhosts.yaml'), 'utf8')
      .replace('name: kvm-host-1', `name: ${hostNames[0]}`)
      .replace('name: kvm-host-2', `name: ${hostNames[1]}`)
      .replace('kvm-host-1.hosts.example.internal:7443', `127.0.0.1:${agents[0]!.port}`)
      .replace('10.0.12.7:7443', `127.0.0.1:${agents[1]!.port}`)
      .replaceAll('  labels:\n', `  labels:\n    deskplane.io/e2e-run: "${run}"\n`);
    writeFileSync(join(dir, '00-kvmhosts.yaml'), hostsYaml);
    for (const f of ['01-desktoppolicy.yaml', '02-desktoptemplate.yaml', '03-virtualdesktop.yaml']) {
      writeFileSync(join(dir, f), readFileSync(join(EXAMPLES, f), 'utf8'));
    }
    // The pool applies as written, but empty: its five 2-vCPU desktops would fill both test
    // hosts, and the scheduling messages below are about the example desktops alone.
    writeFileSync(join(dir, '04-desktoppool.yaml'), readFileSync(join(EXAMPLES, '04-desktoppool.yaml'), 'utf8').replace(/^ {2}size: \d+$/m, '  size: 0').replace(/^ {2}warm: \d+$/m, '  warm: 0'));
    // Let the scheduler pick the target (the example names kvm-host-2).
    writeFileSync(join(dir, '05-desktopmigration.yaml'), readFileSync(join(EXAMPLES, '05-desktopmigration.yaml'), 'utf8').replace(/^\s*targetHost: .*\n/m, ''));

    store = new KubernetesStore({ kubeconfig: state.kube!.kubeconfig, instance: `op-e2e-${run}` });
    jobs = new BullJobQueue(redis, prefix);
    probe = new GrpcHostAgentProbe();
    manager = new Manager({
      store,
      jobs,
      probe,
      log: createLogger({ level: process.env.OPERATOR_TEST_LOG ?? 'warn' }),
      config: testManagerConfig({ namespace: ns, hostSelector: { 'deskplane.io/e2e-run': run }, run, identity: `e2e-${process.pid}`, metrics: { host: '127.0.0.1', port: 0 } }),
    });
    await manager.start();
    await kubectl(['apply', '-f', join(dir, '00-kvmhosts.yaml')]);
    await kubectl(['apply', '-n', ns, '-f', dir]);
  });

  afterAll(async () => {
    await worker?.close();
    await manager?.stop();
    await store?.close();
    probe?.close();
    await emptyNamespace(ns).catch(() => undefined);
    for (const h of hostNames) await kubectl(['delete', 'kvmhost', h, '--ignore-not-found']).catch(() => undefined);
    await deleteEventsAbout(hostNames).catch(() => undefined);
    for (const q of Object.values(QUEUES)) {
      const queue = new Queue(q, { connection: redis, prefix });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await jobs?.close();
    for (const a of agents) await a.close();
    await tb?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const getVd = (name: string) => kubectlJson<VirtualDesktop>(['get', 'vd', name, '-n', ns]);

  it('hosts become Ready with the capacity their agents report', async () => {
    for (const name of hostNames) {
      const h = await vi.waitFor(async () => {
        const o = await kubectlJson<KvmHost>(['get', 'kvmhost', name]);
        expect(getCondition(o.status?.conditions, 'Ready')?.status).toBe('True');
        return o;
      }, poll);
      expect(h.status?.capacity).toMatchObject({ vcpus: 8, memory: '16Gi', disk: '500Gi' });
      expect(h.status?.hypervisor?.type).toMatch(/^(kvm|qemu)$/);
      expect(h.status?.heartbeatTime).toBeDefined();
    }
    // kvm-1 reserves 2 vCPUs and 4Gi in the example.
    expect((await kubectlJson<KvmHost>(['get', 'kvmhost', hostNames[0]!])).status?.allocatable).toMatchObject({ vcpus: 6, memory: '12Gi' });
  });

  it('schedules the example desktop: kubectl get vd shows phase, host and age; a provision job waits in BullMQ', async () => {
    const vd = await vi.waitFor(async () => {
      const o = await getVd('alice-dev');
      expect(o.status?.phase).toBe('Provisioning');
      return o;
    }, poll);
    expect(hostNames).toContain(vd.status?.host);
    const table = await kubectl(['get', 'vd', '-n', ns]);
    console.log(table);
    const [header, ...rows] = table.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(expect.arrayContaining(['NAME', 'PHASE', 'HOST', 'AGE']));
    const row = rows.find((r) => r.startsWith('alice-dev '))!.split(/\s+/);
    const cols = header!.split(/\s+/);
    expect(row[cols.indexOf('PHASE')]).toBe('Provisioning');
    expect(row[cols.indexOf('HOST')]).toBe(vd.status?.host);
    expect(row[cols.indexOf('AGE')]).toMatch(/^\d+s$/);
    expect(vd.metadata.finalizers).toContain('deskplane.io/desktop-cleanup');
    expect(await jobs.state(QUEUES.lifecycle, `provision.${vd.metadata.uid}.g1`)).toBe('waiting');
  });

  it('an impossible desktop says why in its condition and in kubectl describe', async () => {
    await kubectl(['apply', '-n', ns, '-f', '-'], [
      'apiVersion: deskplane.io/v1alpha1\nkind: DesktopTemplate\nmetadata: {name: huge}\nspec: {image: debian-12-xfce, vcpus: 2, memory: 1Ti}',
      'apiVersion: deskplane.io/v1alpha1\nkind: VirtualDesktop\nmetadata: {name: impossible}\nspec: {templateRef: {name: huge}, owner: bob}',
    ].join('\n---\n'));
    const vd = await vi.waitFor(async () => {
      const o = await getVd('impossible');
      expect(getCondition(o.status?.conditions, 'Scheduled')?.reason).toBe('Unschedulable');
      return o;
    }, poll);
    expect(vd.status?.phase).toBe('Pending');
    expect(getCondition(vd.status?.conditions, 'Scheduled')?.message).toBe('0/2 hosts available: 2 insufficient memory');
    const described = await vi.waitFor(async () => {
      const out = await kubectl(['describe', 'vd', 'impossible', '-n', ns]);
      expect(out).toMatch(/Warning\s+FailedScheduling\s+.*0\/2 hosts available: 2 insufficient memory/);
      return out;
    }, poll);
    console.log(described.slice(described.indexOf('Events:')));
  });

  it('picks a migration target through the scheduler (the other host) and enqueues the migration', async () => {
    const source = (await getVd('alice-dev')).status?.host;
    const m = await vi.waitFor(async () => {
      const o = await kubectlJson<DesktopMigration>(['get', 'dmig', 'alice-dev-to-host-2', '-n', ns]);
      expect(o.status?.phase).toBe('PreparingTarget');
      return o;
    }, poll);
    expect(m.status?.sourceHost).toBe(source);
    expect(m.status?.targetHost).toBe(hostNames.find((h) => h !== source));
    expect(await jobs.state(QUEUES.migration, `migrate.${m.metadata.uid}.g1`)).toBe('waiting');
  });

  it('a migration naming a host that does not exist fails with the reason', async () => {
    await kubectl(['apply', '-n', ns, '-f', '-'], 'apiVersion: deskplane.io/v1alpha1\nkind: DesktopMigration\nmetadata: {name: to-nowhere}\nspec: {desktopName: alice-dev, targetHost: no-such-host}');
    const m = await vi.waitFor(async () => {
      const o = await kubectlJson<DesktopMigration>(['get', 'dmig', 'to-nowhere', '-n', ns]);
      expect(o.status?.phase).toBe('Failed');
      return o;
    }, poll);
    expect(getCondition(m.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'TargetNotFound', message: 'KvmHost "no-such-host" not found' });
    await vi.waitFor(async () => expect(await kubectl(['describe', 'dmig', 'to-nowhere', '-n', ns])).toMatch(/Warning\s+TargetNotFound/), poll);
  });

  it('validates the example policy', async () => {
    await vi.waitFor(async () => {
      const p = await kubectlJson<{ status?: { conditions?: Parameters<typeof getCondition>[0] } }>(['get', 'dpol', 'standard', '-n', ns]);
      expect(getCondition(p.status?.conditions, 'Valid')).toMatchObject({ status: 'True', observedGeneration: 1 });
    }, poll);
  });

  it('deleting a desktop waits on its finalizer until the deprovision job completes', async () => {
    await kubectl(['delete', 'vd', 'alice-dev', '-n', ns, '--wait=false']);
    const vd = await vi.waitFor(async () => {
      const o = await getVd('alice-dev');
      expect(o.status?.phase).toBe('Deleting');
      return o;
    }, poll);
    expect(vd.metadata.deletionTimestamp).toBeDefined();
    const jobId = `deprovision.${vd.metadata.uid}.g${vd.metadata.generation}`;
    await vi.waitFor(async () => expect(await jobs.state(QUEUES.lifecycle, jobId)).toBe('waiting'), poll);
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await getVd('alice-dev')).metadata.deletionTimestamp).toBeDefined(); // still held

    // Play the orchestrator (issue 5): a worker that completes whatever it is given.
    const done: string[] = [];
    worker = new Worker(QUEUES.lifecycle, (job) => Promise.resolve(void done.push(job.id ?? '')), { connection: redis, prefix });
    await vi.waitFor(() => expect(done).toContain(jobId), poll);
    const started = Date.now();
    await vi.waitFor(async () => expect(await kubectl(['get', 'vd', 'alice-dev', '-n', ns, '--ignore-not-found'])).toBe(''), poll);
    console.log(`alice-dev released ${Date.now() - started} ms after its deprovision job completed`);
  });

  it('exports reconcile metrics', async () => {
    const text = await (await fetch(`${manager.metricsUrl}/metrics`)).text();
    expect(text).toMatch(/^deskplane_operator_leader 1$/m);
    expect(text).toMatch(/deskplane_operator_reconcile_duration_seconds_count\{controller="virtualdesktop",outcome="success"\} \d+/);
    expect(text).toMatch(/deskplane_operator_queue_depth\{controller="kvmhost"\} \d+/);
    expect(text).toMatch(/deskplane_operator_reconcile_errors_total\{controller="desktopmigration"\} [1-9]/); // the terminal one
  });
});
