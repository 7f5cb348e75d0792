/**
 * Wires one orchestrator: resource store → clients, host agents, console secrets, Redis
 * migration slots, BullMQ workers, metrics server. `main.ts` calls it with the config from
 * the environment; tests call it in-process with their own store and options.
 */
import { EmbeddedStore, KubernetesStore, type ResourceStore } from '@deskplane/resource-store';
import { Redis } from 'ioredis';
import { GrpcHostAgents, type HostAgents } from './agents';
import { redisOptions, type OrchestratorConfig } from './config';
import { createLogger, type Logger } from './log';
import { OrchestratorMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { NO_GATEWAY_HOOKS, type MigrationHooks, type ProcessorDeps } from './processors/context';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject } from './resources';
import { embeddedSecretStore, kubernetesSecretStore, type ConsoleSecretStore } from './secrets';
import { RedisMigrationSlots } from './slots';
import { Workers } from './worker';

export interface OrchestratorOptions {
  config: OrchestratorConfig;
  /** Default: opened from config.backend. A store passed in is not closed by close(). */
  store?: ResourceStore;
  secrets?: ConsoleSecretStore;
  agents?: HostAgents;
  hooks?: MigrationHooks;
  log?: Logger;
  metrics?: OrchestratorMetrics;
}

export interface RunningOrchestrator {
  workers: Workers;
  deps: ProcessorDeps;
  metricsUrl?: string;
  log: Logger;
  close(): Promise<void>;
}

export function openStore(backend: OrchestratorConfig['backend'], instance: string): ResourceStore {
  return backend.kind === 'kubernetes' ? new KubernetesStore({ ...(backend.kubeconfig ? { kubeconfig: backend.kubeconfig } : {}), instance }) : new EmbeddedStore({ dir: backend.dataDir });
}

function secretStoreFor(store: ResourceStore): ConsoleSecretStore {
  return store instanceof KubernetesStore ? kubernetesSecretStore(store.kc) : embeddedSecretStore(store);
}

export async function startOrchestrator(o: OrchestratorOptions): Promise<RunningOrchestrator> {
  const c = o.config;
  const log = o.log ?? createLogger({ level: c.logLevel, base: { identity: c.identity } });
  const metrics = o.metrics ?? new OrchestratorMetrics();
  const store = o.store ?? openStore(c.backend, c.identity);
  const hosts = store.client<HostObject>(RESOURCE_TYPES.KvmHost);
  const agents = o.agents ?? new GrpcHostAgents({ hosts, ...(c.agentTls ? { tls: c.agentTls } : {}), deadlineMs: c.agentDeadlineMs });
  const connection = redisOptions(c.redisUrl);
  const redis = new Redis(connection);
  const deps: ProcessorDeps = {
    agents,
    desktops: store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop),
    migrations: store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration),
    secrets: o.secrets ?? secretStoreFor(store),
    events: store.events,
    slots: new RedisMigrationSlots(redis, { perHostOutbound: c.slots.perHostOutbound, global: c.slots.global }, { prefix: c.queuePrefix, ttlMs: c.slots.ttlMs }),
    hooks: o.hooks ?? NO_GATEWAY_HOOKS,
    timing: c.timing,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    onMigrationsInFlight: (d) => metrics.migrationsInFlight.inc(d),
  };
  const workers = new Workers({
    connection,
    prefix: c.queuePrefix,
    deps,
    log,
    metrics,
    concurrency: c.concurrency,
    lockDurationMs: c.lockDurationMs,
    stalledIntervalMs: c.stalledIntervalMs,
    maxStalledCount: c.maxStalledCount,
  });
  workers.start();
  await workers.waitUntilReady();
  let server: MetricsServer | undefined;
  if (c.metrics) server = await startMetricsServer(metrics, c.metrics, () => ({ ok: workers.running, detail: { identity: c.identity, workers: workers.running } }));
  log.info({ prefix: c.queuePrefix, slots: c.slots, concurrency: c.concurrency, metrics: server?.url }, 'orchestrator started');
  return {
    workers,
    deps,
    log,
    ...(server ? { metricsUrl: server.url } : {}),
    async close() {
      await workers.close();
      await server?.close();
      redis.disconnect();
      if (!o.agents) agents.close();
      if (!o.store) await store.close();
      log.info('orchestrator stopped');
    },
  };
}
