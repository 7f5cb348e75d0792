/**
 * Operator settings from the environment (`DESKPLANE_OPERATOR_*`), parsed by a pure
 * function so that main.ts stays a few lines and the rules are unit-tested.
 */
import { hostname } from 'node:os';
import type { SchedulerConfig } from './scheduler';
import { OperatorConfigError } from './errors';

export interface AgentTlsConfig {
  /** PEM files: the CA that signed the agents' server certificates, and our client pair. */
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export interface OperatorConfig {
  backend: { kind: 'kubernetes'; kubeconfig?: string } | { kind: 'embedded'; dataDir: string };
  redisUrl: string;
  /** BullMQ key prefix (one per installation). */
  queuePrefix: string;
  /** Only these namespaces' objects are watched; undefined = all. */
  watchNamespace?: string;
  /** Only KvmHosts carrying all these labels are this operator's (tests, sharding); undefined = all. */
  hostSelector?: Record<string, string>;
  lease: { name: string; namespace: string; durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  identity: string;
  /** HTTP /metrics and /healthz; port 0 = any free port; undefined = off. */
  metrics?: { host: string; port: number };
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** A host whose last heartbeat is older than this becomes Ready=False. */
  heartbeatGraceMs: number;
  /** Re-check unschedulable desktops this often even when nothing changes. */
  unschedulableRetryMs: number;
  resyncMs: number;
  workers: number;
  scheduler: SchedulerConfig;
  agentTls?: AgentTlsConfig;
  logLevel: string;
  /** The gateway's Redis key prefix: where it records which desktops have open sessions (presence). */
  gatewayPrefix: string;
  /** How often desktop activity (logout release, idle stop) is looked at. */
  activityIntervalMs: number;
  /** Packing idle desktops onto fewer hosts: off, dry-run (plan shown as Events and logs), or on. */
  consolidation: { mode: 'off' | 'dry-run' | 'on'; intervalMs: number; maxMigrations: number };
}

const P = 'DESKPLANE_OPERATOR_';

function int(env: Record<string, string | undefined>, name: string, dflt: number, min = 0): number {
  const raw = env[P + name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new OperatorConfigError(P + name, `expected an integer >= ${min}, got "${raw}"`);
  return n;
}

/** `k=v,k2=v2` → `{ k: 'v', k2: 'v2' }`. */
export function parseLabels(variable: string, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new OperatorConfigError(variable, `expected key=value pairs separated by commas, got "${part}"`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function listen(variable: string, raw: string | undefined): { host: string; port: number } | undefined {
  if (raw === undefined || raw === '') return { host: '0.0.0.0', port: 9465 };
  if (raw === 'off') return undefined;
  const m = /^(.*):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[2]) > 65535) throw new OperatorConfigError(variable, `expected host:port or "off", got "${raw}"`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

/** Reads the settings; throws OperatorConfigError naming the variable on a bad value. */
export function configFromEnv(env: Record<string, string | undefined> = process.env): OperatorConfig {
  const backendKind = env[P + 'BACKEND'] ?? 'kubernetes';
  let backend: OperatorConfig['backend'];
  if (backendKind === 'kubernetes') {
    const kubeconfig = env[P + 'KUBECONFIG'] ?? env.KUBECONFIG;
    backend = { kind: 'kubernetes', ...(kubeconfig ? { kubeconfig } : {}) };
  } else if (backendKind === 'embedded') {
    const dataDir = env[P + 'DATA_DIR'];
    if (!dataDir) throw new OperatorConfigError(P + 'DATA_DIR', 'required with the embedded backend');
    backend = { kind: 'embedded', dataDir };
  } else {
    throw new OperatorConfigError(P + 'BACKEND', `expected "kubernetes" or "embedded", got "${backendKind}"`);
  }
  const redisUrl = env[P + 'REDIS_URL'] ?? env.REDIS_URL;
  if (!redisUrl) throw new OperatorConfigError(P + 'REDIS_URL', 'required (redis://host:port)');
  if (!/^rediss?:\/\//.test(redisUrl)) throw new OperatorConfigError(P + 'REDIS_URL', `expected redis://host:port, got "${redisUrl}"`);

  const strategy = env[P + 'SCHEDULER_STRATEGY'] ?? 'spread';
  if (strategy !== 'spread' && strategy !== 'binPack' && strategy !== 'consolidate') {
    throw new OperatorConfigError(P + 'SCHEDULER_STRATEGY', `expected "spread", "binPack" or "consolidate", got "${strategy}"`);
  }

  const ca = env[P + 'AGENT_TLS_CA'];
  const cert = env[P + 'AGENT_TLS_CERT'];
  const key = env[P + 'AGENT_TLS_KEY'];
  if ((cert || key) && !(cert && key)) throw new OperatorConfigError(P + 'AGENT_TLS_CERT', 'AGENT_TLS_CERT and AGENT_TLS_KEY go together');
  if ((cert || key) && !ca) throw new OperatorConfigError(P + 'AGENT_TLS_CA', 'required when a client certificate is set');

  const consolidation = env[P + 'CONSOLIDATION'] || 'off';
  if (consolidation !== 'off' && consolidation !== 'dry-run' && consolidation !== 'on') {
    throw new OperatorConfigError(P + 'CONSOLIDATION', `expected "off", "dry-run" or "on", got "${consolidation}"`);
  }

  const hostSelector = env[P + 'HOST_SELECTOR'];
  const watchNamespace = env[P + 'WATCH_NAMESPACE'];
  return {
    backend,
    redisUrl,
    queuePrefix: env[P + 'QUEUE_PREFIX'] || 'deskplane',
    ...(watchNamespace ? { watchNamespace } : {}),
    ...(hostSelector ? { hostSelector: parseLabels(P + 'HOST_SELECTOR', hostSelector) } : {}),
    lease: {
      name: env[P + 'LEASE_NAME'] || 'deskplane-operator',
      namespace: env[P + 'LEASE_NAMESPACE'] || 'default',
      durationMs: int(env, 'LEASE_DURATION_MS', 10_000, 1_000),
      renewDeadlineMs: int(env, 'LEASE_RENEW_DEADLINE_MS', 7_000, 500),
      retryPeriodMs: int(env, 'LEASE_RETRY_PERIOD_MS', 1_000, 100),
    },
    identity: env[P + 'IDENTITY'] || `${hostname()}-${process.pid}`,
    metrics: listen(P + 'METRICS_LISTEN', env[P + 'METRICS_LISTEN']),
    heartbeatIntervalMs: int(env, 'HEARTBEAT_INTERVAL_MS', 10_000, 100),
    heartbeatTimeoutMs: int(env, 'HEARTBEAT_TIMEOUT_MS', 3_000, 100),
    heartbeatGraceMs: int(env, 'HEARTBEAT_GRACE_MS', 40_000, 100),
    unschedulableRetryMs: int(env, 'UNSCHEDULABLE_RETRY_MS', 30_000, 100),
    resyncMs: int(env, 'RESYNC_MS', 300_000),
    workers: int(env, 'WORKERS', 2, 1),
    scheduler: { strategy },
    ...(ca ? { agentTls: { caFile: ca, ...(cert ? { certFile: cert } : {}), ...(key ? { keyFile: key } : {}) } } : {}),
    logLevel: env[P + 'LOG_LEVEL'] || 'info',
    gatewayPrefix: env[P + 'GATEWAY_PREFIX'] || 'deskplane:gateway',
    activityIntervalMs: int(env, 'ACTIVITY_INTERVAL_MS', 5_000, 100),
    consolidation: {
      mode: consolidation,
      intervalMs: int(env, 'CONSOLIDATION_INTERVAL_MS', 600_000, 100),
      maxMigrations: int(env, 'CONSOLIDATION_MAX_MIGRATIONS', 2, 1),
    },
  };
}
