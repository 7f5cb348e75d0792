/**
 * Wires one orchestrator: resource store → clients, host agents, console secrets, Redis
 * migration slots, BullMQ workers, metrics server. `main.ts` calls it with the config from
 * the environment; tests call it in-process with their own store and options.
 */
import { BullJobQueue } from '@deskplane/queue-contracts';
import { EmbeddedStore, KubernetesStore, type ResourceStore } from '@deskplane/resource-store';
import { Redis } from 'ioredis';
import { GrpcHostAgents, type HostAgents } from './agents';
import { redisOptions, type OrchestratorConfig } from './config';
import { DriftRepair } from './drift/drift-repair';
import { RedisDriftState } from './drift/drift-state';
import { createLogger, type Logger } from './log';
import { OrchestratorMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { gatewayMigrationHooks } from './gateway-hooks';
import { NO_GATEWAY_HOOKS, type MigrationHooks, type ProcessorDeps } from './processors/context';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject, type TemplateObject } from './resources';
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
  /** In-process timeline of migration slots (tests; see SlotEvent). */
  onSlotEvent?: ProcessorDeps['onSlotEvent'];
}

export interface RunningOrchestrator {
  workers: Workers;
  deps: ProcessorDeps;
  /** The periodic drift repair; undefined when DRIFT_INTERVAL_MS is 0. */
  drift?: DriftRepair;
  metricsUrl?: string;
  log: Logger;
  close(): Promise<void>;
}

/** The reporting controller on the Events of a store the orchestrator opens itself. */
export const EVENT_COMPONENT = 'deskplane.io/orchestrator';

export function openStore(backend: OrchestratorConfig['backend'], instance: string): ResourceStore {
  return backend.kind === 'kubernetes'
    ? new KubernetesStore({ ...(backend.kubeconfig ? { kubeconfig: backend.kubeconfig } : {}), instance, component: EVENT_COMPONENT })
    : new EmbeddedStore({ dir: backend.dataDir, component: EVENT_COMPONENT });
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
  const gatewayHooks = !o.hooks && c.gateway ? gatewayMigrationHooks(c.gateway) : undefined;
  const deps: ProcessorDeps = {
    agents,
    desktops: store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop),
    migrations: store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration),
    secrets: o.secrets ?? secretStoreFor(store),
    events: store.events,
    slots: new RedisMigrationSlots(redis, { perHostOutbound: c.slots.perHostOutbound, global: c.slots.global }, { prefix: c.queuePrefix, ttlMs: c.slots.ttlMs }),
    hooks: o.hooks ?? gatewayHooks ?? NO_GATEWAY_HOOKS,
    timing: c.timing,
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    onMigrationsInFlight: (d) => metrics.migrationsInFlight.inc(d),
    ...(o.onSlotEvent ? { onSlotEvent: o.onSlotEvent } : {}),
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
  const jobs = new BullJobQueue(connection, c.queuePrefix);
  const drift =
    c.drift.intervalMs > 0
      ? new DriftRepair(
          { intervalMs: c.drift.intervalMs, orphanGraceMs: c.drift.orphanGraceMs, identity: c.identity, ...(c.drift.hostSelector ? { hostSelector: c.drift.hostSelector } : {}) },
          {
            hosts,
            desktops: deps.desktops,
            migrations: deps.migrations,
            templates: store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate),
            agents,
            jobs,
            events: store.events,
            state: new RedisDriftState(redis, c.queuePrefix),
            log: log.child({ component: 'drift' }),
            metrics,
          },
        )
      : undefined;
  drift?.start();
  let server: MetricsServer | undefined;
  if (c.metrics) server = await startMetricsServer(metrics, c.metrics, () => ({ ok: workers.running, detail: { identity: c.identity, workers: workers.running } }));
  log.info({ prefix: c.queuePrefix, slots: c.slots, concurrency: c.concurrency, drift: c.drift, metrics: server?.url, gateway: c.gateway && { admin: c.gateway.adminAddress, graphicsUri: c.gateway.graphicsUri } }, 'orchestrator started');
  return {
    workers,
    deps,
    ...(drift ? { drift } : {}),
    log,
    ...(server ? { metricsUrl: server.url } : {}),
    async close() {
      await drift?.stop();
      await workers.close();
      await jobs.close();
      await server?.close();
      redis.disconnect();
      gatewayHooks?.close();
      if (!o.agents) agents.close();
      if (!o.store) await store.close();
      log.info('orchestrator stopped');
    },
  };
}
