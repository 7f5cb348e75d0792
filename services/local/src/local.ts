import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kindByName } from '@deskplane/api';
import { Manager, GrpcHostAgentProbe, configFromEnv as operatorConfig, createLogger, openJobQueue, openStore, OperatorMetrics, operatorTasks, RESOURCE_TYPES } from '@deskplane/desktop-operator';
import { parseConfig, startHostAgent, type RunningHostAgent } from '@deskplane/host-agent';
import { configFromEnv as orchestratorConfig, startOrchestrator } from '@deskplane/orchestrator';
import { AlreadyExistsError, retryOnConflict, type KubeObject, type ResourceStore, type ResourceType } from '@deskplane/resource-store';
import type { TestbedState } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { DEMO_GOLDEN_IMAGE, demoDesktop, demoTemplate, demoTenant, localHost } from './demo';
import { startLocalGateway, type Address, type LocalGateway } from './gateway';
import { ensureDemoIdentity, type DemoIdentity } from './identity';

/** What the API (services/api) gets to run inside the local run. */
export interface LocalApiContext {
  store: ResourceStore;
  redis: Redis;
  /** Key prefix of everything the local run keeps in Redis (queues `<prefix>`, gateway `<prefix>:gateway`). */
  redisPrefix: string;
  gateway: LocalGateway;
  identity: DemoIdentity;
  dataDir: string;
  log: (msg: string) => void;
}

/** Starts the API once everything else runs; its URL is printed with the credentials. */
export type LocalApiHook = (ctx: LocalApiContext) => Promise<{ url: string; close(): Promise<void> }>;

export interface LocalOptions {
  testbed: TestbedState;
  /** Store journal, guest disks, golden images, demo credentials, logs: kept across restarts. */
  dataDir: string;
  /**
   * Run on a Kubernetes API server instead of the embedded store (the CRDs must be applied):
   * the same parts, with the resources where `kubectl` sees them. Tests of cluster tooling
   * (`kubectl desktop`) use it against the testbed's kube-apiserver.
   */
  kubeconfig?: string;
  log?: (msg: string) => void;
  /** Gateway addresses. Defaults: SPICE 127.0.0.1:5930, CONNECT 127.0.0.1:5931 (false: off), admin 127.0.0.1 on a free port. */
  gateway?: { listen?: Address; connectListen?: Address | false; adminListen?: Address; /** WebSocket front for browser consoles; off unless set (the command: DEFAULT_WEBSOCKET_LISTEN). */ websocketListen?: Address };
  /** Redis key prefix. Default `deskplane-local`. */
  redisPrefix?: string;
  /** Orchestrator drift repair; default DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS, else LOCAL_DRIFT_INTERVAL_MS. 0 = off. */
  driftIntervalMs?: number;
  api?: LocalApiHook;
  /** Extra DESKPLANE_OPERATOR_* / DESKPLANE_ORCHESTRATOR_* settings (tests: consolidation, short intervals). */
  env?: Record<string, string>;
}

export interface RunningLocal {
  store: ResourceStore;
  agents: RunningHostAgent[];
  /** The gateway, its ticket store, addresses, `upstreamOf` and `mintTicket` (for the API). */
  gateway: LocalGateway;
  identity: DemoIdentity;
  redis: Redis;
  redisPrefix: string;
  /** Set when an API hook ran. */
  apiUrl?: string;
  close(): Promise<void>;
}

export const DEFAULT_GATEWAY_LISTEN: Address = { host: '127.0.0.1', port: 5930 };
export const DEFAULT_CONNECT_LISTEN: Address = { host: '127.0.0.1', port: 5931 };
export const DEFAULT_WEBSOCKET_LISTEN: Address = { host: '127.0.0.1', port: 5932 };
/** Orchestrator drift-repair interval of the local run (its own default is 30 s). */
export const LOCAL_DRIFT_INTERVAL_MS = 5_000;

/**
 * Every part in one process on the embedded store (which lives in this process, so the
 * operator, the orchestrator, the gateway and the API share it): one host agent per testbed
 * host, the operator, the gateway, the orchestrator with the gateway's migration hooks, the
 * demo users, and on first start a demo template and desktop. Whatever started is stopped
 * again if a later part fails.
 */
export async function startLocal(o: LocalOptions): Promise<RunningLocal> {
  const say = o.log ?? (() => undefined);
  const { testbed, dataDir } = o;
  if (!testbed.redis || !testbed.guestImage || testbed.hosts.length === 0) {
    throw new Error('the local run needs the testbed with Redis, a guest image and at least one host ("testbed up")');
  }
  const prefix = o.redisPrefix ?? 'deskplane-local';
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      await Promise.resolve()
        .then(c.close)
        .catch((err: unknown) => say(`stopping ${c.name} failed: ${(err as Error).message}`));
    }
  };
  try {
    const identity = await ensureDemoIdentity(dataDir);
    if (identity.written.length > 0) say(`wrote the demo users ${identity.written.join(', ')} to ${identity.usersFile}`);
    const storageDir = join(dataDir, 'storage');
    const goldenImagesDir = join(dataDir, 'images');
    prepareGoldenImages(goldenImagesDir, testbed);
    mkdirSync(storageDir, { recursive: true });

    const agents: RunningHostAgent[] = [];
    for (const h of testbed.hosts) {
      const base = parseConfig({}, { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: h.address });
      const agent = await startHostAgent({
        ...base,
        hostName: h.name,
        listen: { host: '127.0.0.1', port: 0 },
        metricsListen: undefined,
        libvirtUri: h.libvirtUri,
        migrationUri: h.libvirtUri,
        storageDir,
        goldenImagesDir,
        assumeSharedStorage: true,
        logLevel: 'warn',
      });
      agents.push(agent);
      closers.push({ name: `host agent ${h.name}`, close: () => agent.close() });
    }

    // 5 s, not the orchestrator's 30 s: every restart of the local run starts fresh libvirt
    // hosts, so every desktop's guest is missing until a drift pass recreates it.
    const drift = o.driftIntervalMs ?? process.env.DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS ?? LOCAL_DRIFT_INTERVAL_MS;
    const backend = o.kubeconfig
      ? { DESKPLANE_OPERATOR_BACKEND: 'kubernetes', DESKPLANE_OPERATOR_KUBECONFIG: o.kubeconfig, DESKPLANE_ORCHESTRATOR_BACKEND: 'kubernetes', DESKPLANE_ORCHESTRATOR_KUBECONFIG: o.kubeconfig }
      : { DESKPLANE_OPERATOR_BACKEND: 'embedded', DESKPLANE_ORCHESTRATOR_BACKEND: 'embedded' };
    const env = {
      ...backend,
      DESKPLANE_OPERATOR_DATA_DIR: join(dataDir, 'store'),
      DESKPLANE_OPERATOR_REDIS_URL: testbed.redis.url,
      DESKPLANE_OPERATOR_QUEUE_PREFIX: prefix,
      DESKPLANE_OPERATOR_METRICS_LISTEN: 'off',
      DESKPLANE_OPERATOR_HEARTBEAT_INTERVAL_MS: '2000',
      DESKPLANE_OPERATOR_LOG_LEVEL: 'warn',
      DESKPLANE_ORCHESTRATOR_DATA_DIR: join(dataDir, 'store'),
      DESKPLANE_ORCHESTRATOR_REDIS_URL: testbed.redis.url,
      DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: prefix,
      DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: 'off',
      DESKPLANE_ORCHESTRATOR_LOG_LEVEL: 'warn',
      // Drift repair recreates the guests after a restart of the testbed; tests that share
      // hosts with other runs turn it off (0).
      DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS: String(drift),
      ...o.env,
    };
    const opConfig = operatorConfig(env);
    const store = openStore(opConfig.backend, 'local');
    closers.push({ name: 'store', close: () => store.close() });
    for (const [i, a] of agents.entries()) await upsert(store, localHost(testbed.hosts[i]!.name, `127.0.0.1:${a.port}`));

    const redis = new Redis(testbed.redis.url, { maxRetriesPerRequest: 2, lazyConnect: true });
    closers.push({ name: 'redis', close: () => void redis.disconnect() });
    await redis.connect();

    const g = o.gateway ?? {};
    const connectListen = g.connectListen === false ? undefined : (g.connectListen ?? DEFAULT_CONNECT_LISTEN);
    const gateway = await startLocalGateway({
      store,
      redis,
      prefix: `${prefix}:gateway`,
      listen: g.listen ?? DEFAULT_GATEWAY_LISTEN,
      ...(connectListen && { connectListen }),
      ...(g.websocketListen && { websocketListen: g.websocketListen }),
      ...(g.adminListen && { adminListen: g.adminListen }),
      logFile: join(dataDir, 'logs', 'gateway.log'),
    });
    closers.push({ name: 'gateway', close: () => gateway.close() });

    const jobs = openJobQueue(opConfig.redisUrl, opConfig.queuePrefix);
    closers.push({ name: 'job queue', close: () => jobs.close() });
    const probe = new GrpcHostAgentProbe();
    closers.push({ name: 'host probe', close: () => probe.close() });
    const metrics = new OperatorMetrics();
    const periodic = operatorTasks({ ...opConfig, gatewayPrefix: `${prefix}:gateway` }, metrics);
    closers.push({ name: 'operator tasks', close: () => periodic.close() });
    const manager = new Manager({ store, jobs, probe, config: opConfig, metrics, tasks: periodic.tasks, log: createLogger({ level: opConfig.logLevel }) });
    await manager.start();
    closers.push({ name: 'operator', close: () => manager.stop() });
    // In-process hooks: a migration holds its bandwidth until the gateway has the clients on the destination.
    const orchestrator = await startOrchestrator({ config: orchestratorConfig(env, 'local'), store, hooks: gateway.hooks });
    closers.push({ name: 'orchestrator', close: () => orchestrator.close() });

    const tenant = demoTenant();
    for (const obj of [...(tenant ? [tenant] : []), demoTemplate(), demoDesktop()]) {
      const created = await createIfMissing(store, obj).catch((err: unknown) => {
        // The Tenant kind is new: a spec its schema refuses is reported, not fatal to the demo.
        if (obj.kind !== 'Tenant') throw err;
        say(`could not create the demo Tenant: ${(err as Error).message}`);
        return false;
      });
      if (created) say(`created ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`);
    }

    const api = o.api && (await o.api({ store, redis, redisPrefix: prefix, gateway, identity, dataDir, log: say }));
    if (api) closers.push({ name: 'API', close: () => api.close() });

    return {
      store,
      agents,
      gateway,
      identity,
      redis,
      redisPrefix: prefix,
      ...(api && { apiUrl: api.url }),
      close: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function prepareGoldenImages(dir: string, tb: TestbedState): void {
  const image = tb.guestImage!;
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, `${DEMO_GOLDEN_IMAGE}.qcow2`), { force: true });
  symlinkSync(image.goldenDisk, join(dir, `${DEMO_GOLDEN_IMAGE}.qcow2`));
  writeFileSync(
    join(dir, `${DEMO_GOLDEN_IMAGE}.boot.json`),
    JSON.stringify({ kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline }, null, 2) + '\n',
  );
}

function typeOf(kind: string): ResourceType {
  const t = Object.values(RESOURCE_TYPES).find((r) => r.kind === kind) ?? kindByName(kind)?.info;
  if (!t) throw new Error(`unknown kind ${kind}`);
  return t;
}

async function createIfMissing(store: ResourceStore, obj: KubeObject): Promise<boolean> {
  try {
    await store.client(typeOf(obj.kind)).create(obj);
    return true;
  } catch (e) {
    if (e instanceof AlreadyExistsError) return false;
    throw e;
  }
}

/** Creates the object, or points the existing one's spec at the new value (agent ports change per start). */
async function upsert(store: ResourceStore, obj: KubeObject): Promise<void> {
  const client = store.client(typeOf(obj.kind));
  if (await createIfMissing(store, obj)) return;
  await retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (cur) => ({ ...cur, spec: obj.spec }));
}
