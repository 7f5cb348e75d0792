/** DESKPLANE_ORCHESTRATOR_* variables → config (pure; main.ts reads process.env). */
import type { AgentTlsConfig } from './agents';
import { DEFAULT_TIMING, type Timing } from './processors/context';
import { DEFAULT_SLOT_LIMITS, type SlotLimits } from './slots';

export interface OrchestratorConfig {
  backend: { kind: 'kubernetes'; kubeconfig?: string } | { kind: 'embedded'; dataDir: string };
  redisUrl: string;
  queuePrefix: string;
  /** Jobs run at once per process: lifecycle queue, migration queue (slots limit real migrations). */
  concurrency: { lifecycle: number; migration: number };
  slots: SlotLimits & { ttlMs: number };
  /** BullMQ job lock: a killed worker's job is re-run after ~lockDurationMs + stalledIntervalMs. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  timing: Timing;
  /** Drift repair (drift/): how often a pass runs (0 = off), how long an orphan guest is kept, which KvmHosts it looks after. */
  drift: { intervalMs: number; orphanGraceMs: number; hostSelector?: Record<string, string> };
  agentDeadlineMs: number;
  agentTls?: AgentTlsConfig;
  metrics?: { host: string; port: number };
  /** The SPICE gateway the migrations cooperate with (off unless GATEWAY_ADMIN is set). */
  gateway?: { adminAddress: string; graphicsUri: string; holdBandwidthMiBps: number; readyTimeoutMs: number; tls?: AgentTlsConfig };
  identity: string;
  logLevel: string;
}

export class ConfigError extends Error {}

const P = 'DESKPLANE_ORCHESTRATOR_';

function int(env: Record<string, string | undefined>, name: string, dflt: number, min = 0): number {
  const raw = env[P + name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${P}${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function listen(raw: string | undefined, dflt: string): { host: string; port: number } | undefined {
  const v = raw ?? dflt;
  if (v === 'off') return undefined;
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(v);
  if (!m) throw new ConfigError(`${P}METRICS_LISTEN must be host:port or "off", got "${v}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** `k=v,k2=v2` → labels; undefined when empty. */
export function parseSelector(raw: string | undefined, name: string): Record<string, string> | undefined {
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*([^=\s]*)\s*$/.exec(part);
    if (!m) throw new ConfigError(`${P}${name} must be k=v[,k2=v2], got "${raw}"`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

export function configFromEnv(env: Record<string, string | undefined>, hostname = 'orchestrator'): OrchestratorConfig {
  const backendKind = env[P + 'BACKEND'] || 'kubernetes';
  if (backendKind !== 'kubernetes' && backendKind !== 'embedded') throw new ConfigError(`${P}BACKEND must be kubernetes or embedded, got "${backendKind}"`);
  const kubeconfig = env[P + 'KUBECONFIG'] || env.KUBECONFIG;
  const dataDir = env[P + 'DATA_DIR'];
  if (backendKind === 'embedded' && !dataDir) throw new ConfigError(`${P}DATA_DIR is required with the embedded backend`);
  const redisUrl = env[P + 'REDIS_URL'] || env.REDIS_URL;
  if (!redisUrl) throw new ConfigError(`${P}REDIS_URL (or REDIS_URL) is required`);
  const ca = env[P + 'AGENT_TLS_CA'];
  const cert = env[P + 'AGENT_TLS_CERT'];
  const key = env[P + 'AGENT_TLS_KEY'];
  if ((cert || key) && !ca) throw new ConfigError(`${P}AGENT_TLS_CERT and _KEY need ${P}AGENT_TLS_CA`);
  if (!!cert !== !!key) throw new ConfigError(`${P}AGENT_TLS_CERT and ${P}AGENT_TLS_KEY go together`);
  const metrics = listen(env[P + 'METRICS_LISTEN'], '0.0.0.0:9466');
  const hostSelector = parseSelector(env[P + 'HOST_SELECTOR'], 'HOST_SELECTOR');
  const gatewayAdmin = env[P + 'GATEWAY_ADMIN'];
  const graphicsUri = env[P + 'GATEWAY_GRAPHICS_URI'];
  if (gatewayAdmin && !/^spice:\/\/[^/:\s]+:\d{1,5}$/.test(graphicsUri ?? '')) {
    throw new ConfigError(`${P}GATEWAY_GRAPHICS_URI must be spice://<gateway host as clients reach it>:<port> when ${P}GATEWAY_ADMIN is set, got "${graphicsUri ?? ''}"`);
  }
  return {
    backend: backendKind === 'kubernetes' ? { kind: 'kubernetes', ...(kubeconfig ? { kubeconfig } : {}) } : { kind: 'embedded', dataDir: dataDir! },
    redisUrl,
    queuePrefix: env[P + 'QUEUE_PREFIX'] || 'deskplane',
    concurrency: { lifecycle: int(env, 'LIFECYCLE_CONCURRENCY', 4, 1), migration: int(env, 'MIGRATION_CONCURRENCY', 8, 1) },
    slots: {
      perHostOutbound: int(env, 'MIGRATIONS_PER_HOST', DEFAULT_SLOT_LIMITS.perHostOutbound, 1),
      global: int(env, 'MIGRATIONS_GLOBAL', DEFAULT_SLOT_LIMITS.global, 1),
      ttlMs: int(env, 'SLOT_TTL_MS', 30_000, 1000),
    },
    lockDurationMs: int(env, 'LOCK_DURATION_MS', 30_000, 1000),
    stalledIntervalMs: int(env, 'STALLED_INTERVAL_MS', 30_000, 500),
    maxStalledCount: int(env, 'MAX_STALLED_COUNT', 5, 0),
    timing: {
      runningTimeoutMs: int(env, 'RUNNING_TIMEOUT_MS', DEFAULT_TIMING.runningTimeoutMs, 1000),
      pollMs: int(env, 'POLL_MS', DEFAULT_TIMING.pollMs, 50),
      progressWriteMs: int(env, 'PROGRESS_WRITE_MS', DEFAULT_TIMING.progressWriteMs, 0),
      slotRetryMs: int(env, 'SLOT_RETRY_MS', DEFAULT_TIMING.slotRetryMs, 100),
      slotRenewMs: int(env, 'SLOT_RENEW_MS', DEFAULT_TIMING.slotRenewMs, 100),
      stopTimeoutSeconds: int(env, 'STOP_TIMEOUT_SECONDS', DEFAULT_TIMING.stopTimeoutSeconds, 1),
    },
    drift: {
      intervalMs: int(env, 'DRIFT_INTERVAL_MS', 30_000, 0),
      orphanGraceMs: int(env, 'ORPHAN_GRACE_MS', 300_000, 0),
      ...(hostSelector ? { hostSelector } : {}),
    },
    agentDeadlineMs: int(env, 'AGENT_DEADLINE_MS', 30_000, 100),
    ...(ca ? { agentTls: { caFile: ca, ...(cert ? { certFile: cert } : {}), ...(key ? { keyFile: key } : {}) } } : {}),
    ...(metrics ? { metrics } : {}),
    ...(gatewayAdmin
      ? {
          gateway: {
            adminAddress: gatewayAdmin,
            graphicsUri: graphicsUri!,
            holdBandwidthMiBps: int(env, 'GATEWAY_HOLD_MIBPS', 2, 1),
            readyTimeoutMs: int(env, 'GATEWAY_READY_TIMEOUT_MS', 15_000, 100),
            ...(ca ? { tls: { caFile: ca, ...(cert ? { certFile: cert } : {}), ...(key ? { keyFile: key } : {}) } } : {}),
          },
        }
      : {}),
    identity: env[P + 'IDENTITY'] || `${hostname}-${process.pid}`,
    logLevel: env[P + 'LOG_LEVEL'] || 'info',
  };
}

/** ioredis options from a redis:// or rediss:// URL (BullMQ workers need maxRetriesPerRequest: null). */
export function redisOptions(url: string): { host: string; port: number; password?: string; username?: string; tls?: object; db?: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    maxRetriesPerRequest: null,
  };
}
