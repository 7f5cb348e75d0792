/**
 * The control plane the provision bench drives: a resource store (the testbed's real
 * kube-apiserver, or the embedded store), a unique namespace, KvmHosts pointing at host
 * agents the caller started, the desktop operator's Manager and the orchestrator's workers
 * in-process (wired as services/orchestrator/test/orchestrator.e2e.test.ts does), and a
 * watch that stamps when each desktop first reaches each phase.
 *
 * Reuses the operator's test support (kubectl, emptyNamespace) rather than the
 * orchestrator's test plane, which starts its own two small agents and needs vitest.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { getCondition, type DesktopTemplate as ApiTemplate, type KvmHost as ApiHost, type VirtualDesktop as ApiDesktop } from '@deskplane/api';
import { deskplaneSchemas, GrpcHostAgentProbe, Manager, RESOURCE_TYPES, createLogger as operatorLogger } from '@deskplane/desktop-operator';
import { configFromEnv, createLogger as orchestratorLogger, startOrchestrator, type RunningOrchestrator } from '@deskplane/orchestrator';
import { BullJobQueue, QUEUES } from '@deskplane/queue-contracts';
import { EmbeddedStore, Informer, KubernetesStore, type KubeObject, type ResourceClient, type ResourceStore } from '@deskplane/resource-store';
import { loadState } from '@deskplane/testbed';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteEventsAbout, emptyNamespace, kubectl } from '../../operators/desktop-operator/test/support/kubectl';
import { testManagerConfig } from '../../operators/desktop-operator/test/support/manager-config';

export type VirtualDesktop = ApiDesktop & KubeObject;
type KvmHost = ApiHost & KubeObject;
type DesktopTemplate = ApiTemplate & KubeObject;

export const ROOT = join(__dirname, '../..');
export const TEMPLATE = 'bench-busybox';

export type Backend = 'kubernetes' | 'embedded';

export interface PlaneOptions {
  tag: string;
  backend: Backend;
  /** Agents to register as KvmHosts (gRPC endpoint host:port). */
  agents: Array<{ endpoint: string }>;
  /** orchestrator LIFECYCLE_CONCURRENCY (its default is 4). */
  lifecycleConcurrency?: number;
  /** DesktopTemplate memory (default 256Mi, as the e2e suites). */
  memory?: string;
}

export interface BenchPlane {
  run: string;
  ns: string;
  backend: Backend;
  store: ResourceStore;
  desktops: ResourceClient<VirtualDesktop>;
  hostNames: string[];
  phases: PhaseClock;
  orchestrator: RunningOrchestrator;
  close(): Promise<void>;
}

/** When each desktop was first seen in each phase (Date.now() of the watch event), and when it was gone. */
export class PhaseClock {
  readonly seen = new Map<string, { uid?: string; host?: string; phases: Map<string, number>; goneAt?: number }>();
  private readonly waiters = new Set<() => void>();
  private readonly informer: Informer<VirtualDesktop>;

  constructor(client: ResourceClient<VirtualDesktop>, namespace: string) {
    this.informer = new Informer(client, { namespace, resyncMs: 0, minBackoffMs: 50 });
    const record = (o: VirtualDesktop, gone = false): void => {
      const now = Date.now();
      let e = this.seen.get(o.metadata.name);
      if (!e || (o.metadata.uid && e.uid && e.uid !== o.metadata.uid)) this.seen.set(o.metadata.name, (e = { phases: new Map() }));
      e.uid ??= o.metadata.uid;
      if (o.status?.host) e.host = o.status.host;
      const phase = o.status?.phase ?? 'Created';
      if (!e.phases.has(phase)) e.phases.set(phase, now);
      if (gone) e.goneAt = now;
      for (const w of this.waiters) w();
    };
    this.informer.on({ add: (o) => record(o), update: (_, o) => record(o), delete: (o) => record(o, true) });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): void {
    this.informer.stop();
  }

  at(name: string, phase: string): number | undefined {
    return this.seen.get(name)?.phases.get(phase);
  }

  /** Resolves when every name has reached the phase (or is gone, for phase "gone"); rejects on Failed or timeout. */
  waitFor(names: readonly string[], phase: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let pending = 0;
        for (const n of names) {
          const e = this.seen.get(n);
          if (phase === 'gone' ? e?.goneAt !== undefined : e?.phases.has(phase)) continue;
          if (phase !== 'gone' && e?.phases.has('Failed')) return finish(new Error(`desktop ${n} failed (phases seen: ${[...e.phases.keys()].join(' → ')})`));
          pending++;
        }
        if (pending === 0) finish();
      };
      const timer = setTimeout(() => {
        const missing = names.filter((n) => (phase === 'gone' ? this.seen.get(n)?.goneAt === undefined : !this.seen.get(n)?.phases.has(phase)));
        finish(new Error(`${missing.length} desktop(s) did not reach ${phase} within ${timeoutMs} ms: ${missing.slice(0, 5).join(', ')}…`));
      }, timeoutMs);
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}

export async function startBenchPlane(o: PlaneOptions): Promise<BenchPlane> {
  const state = loadState();
  if (!state.redis) throw new Error('the testbed runs without Redis ("testbed up")');
  const run = randomBytes(3).toString('hex');
  const ns = `${o.tag}-${run}`;
  const prefix = `${o.tag}-${run}`;
  const redis = { host: state.redis.host, port: state.redis.port };
  const quiet = process.env.BENCH_LOG ?? 'error';

  let store: ResourceStore;
  if (o.backend === 'kubernetes') {
    if (!state.kube) throw new Error('the testbed runs without kube-apiserver');
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'packages/api/crds/')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'packages/api/crds/')]);
    await kubectl(['create', 'namespace', ns]);
    store = new KubernetesStore({ kubeconfig: state.kube.kubeconfig, instance: prefix });
  } else {
    store = new EmbeddedStore({ schemas: deskplaneSchemas(), historySize: 100_000 });
  }

  const hostClient = store.client<KvmHost>(RESOURCE_TYPES.KvmHost);
  const hostNames = o.agents.map((_, i) => `${prefix}-kvm-${i + 1}`);
  for (const [i, a] of o.agents.entries()) {
    await hostClient.create({
      apiVersion: 'deskplane.io/v1alpha1',
      kind: 'KvmHost',
      metadata: { name: hostNames[i]!, labels: { 'deskplane.io/bench-run': run } },
      spec: { agentEndpoint: a.endpoint },
    });
  }
  await store.client<DesktopTemplate>(RESOURCE_TYPES.DesktopTemplate).create({
    apiVersion: 'deskplane.io/v1alpha1',
    kind: 'DesktopTemplate',
    metadata: { name: TEMPLATE, namespace: ns },
    spec: { image: 'busybox', vcpus: 1, memory: o.memory ?? '256Mi', disk: '1Gi' },
  });

  const jobs = new BullJobQueue(redis, prefix);
  const probe = new GrpcHostAgentProbe();
  const manager = new Manager({
    store,
    jobs,
    probe,
    log: operatorLogger({ level: quiet }),
    config: testManagerConfig({ namespace: ns, hostSelector: { 'deskplane.io/bench-run': run }, run, identity: `${prefix}-${process.pid}`, metrics: undefined }),
  });
  await manager.start();

  const config = configFromEnv({
    DESKPLANE_ORCHESTRATOR_REDIS_URL: `redis://${redis.host}:${redis.port}`,
    DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: prefix,
    ...(state.kube ? { DESKPLANE_ORCHESTRATOR_KUBECONFIG: state.kube.kubeconfig } : {}),
    DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: 'off',
    DESKPLANE_ORCHESTRATOR_IDENTITY: `${prefix}-orchestrator`,
    // The bench shares the testbed's hosts with other runs: drift repair would take their
    // guests for orphans. The bench measures provisioning, not repair.
    DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS: '0',
    ...(o.lifecycleConcurrency ? { DESKPLANE_ORCHESTRATOR_LIFECYCLE_CONCURRENCY: String(o.lifecycleConcurrency) } : {}),
  });
  const orchestrator = await startOrchestrator({ config, store, log: orchestratorLogger({ level: quiet }) });

  // Every KvmHost heartbeated and Ready before the clock starts.
  const deadline = Date.now() + 60_000;
  for (const name of hostNames) {
    for (;;) {
      const h = await hostClient.get(name);
      if (getCondition(h?.status?.conditions, 'Ready')?.status === 'True') break;
      if (Date.now() > deadline) throw new Error(`KvmHost ${name} did not become Ready within 60 s: ${JSON.stringify(h?.status?.conditions)}`);
      await sleep(100);
    }
  }

  const desktops = store.client<VirtualDesktop>(RESOURCE_TYPES.VirtualDesktop);
  const phases = new PhaseClock(desktops, ns);
  await phases.start();

  let closed = false;
  return {
    run,
    ns,
    backend: o.backend,
    store,
    desktops,
    hostNames,
    phases,
    orchestrator,
    async close() {
      if (closed) return;
      closed = true;
      phases.stop();
      await orchestrator.close().catch(() => undefined);
      await manager.stop().catch(() => undefined);
      if (o.backend === 'kubernetes') {
        await emptyNamespace(ns).catch(() => undefined);
        await kubectl(['delete', 'secrets', '--all', '-n', ns, '--ignore-not-found']).catch(() => undefined);
        for (const h of hostNames) await kubectl(['delete', 'kvmhost', h, '--ignore-not-found']).catch(() => undefined);
        await deleteEventsAbout(hostNames).catch(() => undefined);
      }
      for (const q of Object.values(QUEUES)) {
        const queue = new Queue(q, { connection: redis, prefix });
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
      // Anything else the orchestrator kept under this run's prefix (slots, drift records, …).
      const r = new Redis(redis);
      const keys = await r.keys(`${prefix}:*`).catch(() => [] as string[]);
      if (keys.length) await r.del(...keys).catch(() => undefined);
      r.disconnect();
      await jobs.close();
      await store.close();
      probe.close();
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function desktopObject(name: string, ns: string): VirtualDesktop {
  return {
    apiVersion: 'deskplane.io/v1alpha1',
    kind: 'VirtualDesktop',
    metadata: { name, namespace: ns },
    spec: { templateRef: { name: TEMPLATE }, owner: 'bench' },
  };
}

export const desktopYaml = (name: string): string =>
  `apiVersion: deskplane.io/v1alpha1\nkind: VirtualDesktop\nmetadata: {name: ${name}}\nspec: {templateRef: {name: ${TEMPLATE}}, owner: bench}\n`;
