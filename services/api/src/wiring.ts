/**
 * From the configuration to a running API: the store, the console secrets, the gateway, Redis
 * (queue statistics, the session audit stream), the domain classes over them, and the
 * controllers. The local run hands in what it already has (its embedded store, its
 * in-process gateway, its Redis) and the rest is made here.
 *
 * @example
 * const config = parseConfig();
 * const api = await startApi({ config });                 // a cluster: everything from DESKPLANE_API_*
 * const local = await startApi({ config, store, gateway: new InProcessGatewayAccess({ gateway, tickets }) });
 */
import { readFileSync } from 'node:fs';
import type { Type as NestType } from '@nestjs/common';
import { GatewayAdminClient } from '@deskplane/gateway';
import { embeddedSecretStore, kubernetesSecretStore, redisOptions, type ConsoleSecretStore } from '@deskplane/orchestrator';
import { KubernetesStore, type ResourceStore } from '@deskplane/resource-store';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { RedisAuditReader, type AuditRecord } from './audit/redis-audit';
import { ConfigError, PREFIX, type ApiConfig } from './config';
import type { AuditSink } from './domain/access';
import { MemoryAuditLog, type AuditEntry, type AuditQuery, type AuditReader } from './domain/audit';
import { Consoles, type ConsoleConfig } from './domain/consoles';
import { Desktops } from './domain/desktops';
import { GrpcGatewayAccess, type GatewayAccess } from './domain/gateway-access';
import { Ops } from './domain/ops';
import { PoolMetrics } from './domain/pool-metrics';
import { Pools } from './domain/pools';
import { BullQueueStats } from './domain/queue-stats';
import { clients } from './domain/resources';
import { Sessions } from './domain/sessions';
import { Templates } from './domain/templates';
import { Tenants } from './domain/tenants';
import { Unavailable } from './domain/unavailable';
import { createApiApp, type ApiApp } from './http/app';
import { DOMAIN_CONTROLLERS, TenantPolicies, type DomainDeps } from './http/controllers';
import type { ReadinessCheck } from './http/deps';
import { RateLimiter } from './http/rate-limiter';

export interface BuildApiOptions {
  config: ApiConfig;
  /** The store to work on (the local run's embedded store, a test's); default a KubernetesStore from the kubeconfig setting. */
  store?: ResourceStore;
  /** The gateway in this process (InProcessGatewayAccess); default its admin gRPC API at DESKPLANE_API_GATEWAY_ADMIN. */
  gateway?: GatewayAccess;
  /** Where console passwords are; default Kubernetes Secrets for a KubernetesStore, the store's own secrets otherwise. */
  secrets?: Pick<ConsoleSecretStore, 'get'>;
  /** A Redis connection to use (not closed by close()); default one to DESKPLANE_API_REDIS_URL when set. */
  redis?: Redis;
  /** What `.vv` files name, over the configuration (the local run knows its gateway's address). */
  console?: Partial<ConsoleConfig['gateway']>;
  /** Where the API records what callers did, and reads back; default in memory (this process only). */
  audit?: AuditSink & AuditReader;
  logger?: Logger;
  metrics?: Registry;
  readiness?: ReadinessCheck[];
}

export interface BuiltApi {
  deps: DomainDeps;
  /** Settings not given, whose routes answer 503 (e.g. DESKPLANE_API_GATEWAY_ADMIN). */
  missing: string[];
  controllers: NestType<unknown>[];
  /** Stops the live feed and closes what was opened here (not what was handed in). */
  close(): Promise<void>;
}

/** An audit entry from the gateway's record of an ended console session. */
export function sessionAuditEntry(r: AuditRecord): AuditEntry {
  return {
    id: `session:${r.id}`,
    time: r.endedAt,
    action: 'session.end',
    tenant: r.tenant,
    user: r.user,
    desktop: r.desktop,
    details: {
      session: r.session,
      sessionId: r.sessionId,
      policy: r.policy,
      source: r.source,
      transport: r.transport,
      upstream: r.upstream,
      openedAt: r.openedAt,
      durationMs: r.durationMs,
      bytesToClient: r.bytesToClient,
      bytesToGuest: r.bytesToGuest,
      reason: r.reason,
      migrations: r.migrations,
    },
  };
}

/** The API's own entries and the gateway's session records, merged newest first. */
export class CombinedAuditReader implements AuditReader {
  constructor(
    private readonly own: AuditReader,
    private readonly sessions?: { query(q: AuditQuery): Promise<AuditRecord[]> },
  ) {}

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const fromGateway = this.sessions
      ? this.sessions.query(q).then(
          (rs) => rs.map(sessionAuditEntry),
          (err: unknown) => {
            throw new Unavailable(`the session audit stream cannot be read: ${(err as Error).message}`);
          },
        )
      : Promise.resolve([]);
    const [own, gateway] = await Promise.all([this.own.query(q), fromGateway]);
    return [...own, ...gateway].sort((a, b) => Date.parse(b.time) - Date.parse(a.time)).slice(0, q.limit);
  }
}

function readPem(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${file}: ${(err as Error).message}`);
  }
}

function consoleConfig(config: ApiConfig, override: Partial<ConsoleConfig['gateway']> = {}): ConsoleConfig | undefined {
  const p = config.platform;
  const host = override.host ?? p.gateway.host;
  if (!host) return undefined;
  const caCert = override.caCert ?? (p.gateway.caFile !== undefined ? readPem(`${PREFIX}GATEWAY_CA`, p.gateway.caFile) : undefined);
  const tlsPort = override.tlsPort ?? p.gateway.tlsPort;
  const hostSubject = override.hostSubject ?? p.gateway.hostSubject;
  const proxy = override.proxy ?? p.gateway.proxy;
  const websocketUrl = override.websocketUrl;
  return {
    gateway: {
      host,
      port: override.port ?? p.gateway.port,
      ...(tlsPort !== undefined && { tlsPort }),
      ...(caCert !== undefined && { caCert }),
      ...(hostSubject !== undefined && { hostSubject }),
      ...(proxy !== undefined && { proxy }),
      ...(websocketUrl !== undefined && { websocketUrl }),
    },
    ...(p.browserConsoleUrl !== undefined && { browserBaseUrl: p.browserConsoleUrl }),
    ticketTtlSeconds: p.ticketTtlSeconds,
  };
}

/** Stands in for a gateway that is not configured: every call is a 503 naming the setting. */
class NoGateway implements GatewayAccess {
  private fail(): never {
    throw new Unavailable(`this server has no gateway configured (${PREFIX}GATEWAY_ADMIN)`);
  }
  mint(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
  listSessions(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
  killSession(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
}

/**
 * Builds the domain over the configured (or given) store, gateway and Redis. A setting that
 * is wrong (an unreadable CA file) is a ConfigError naming it. One that is missing leaves the
 * routes that need it answering 503 and /readyz failing with its name (`missing`), so a
 * deployment shows what it lacks while the rest serves.
 */
export function buildApi(o: BuildApiOptions): BuiltApi {
  const p = o.config.platform;
  const closers: (() => Promise<void> | void)[] = [];
  const consoleSettings = consoleConfig(o.config, o.console);
  const missing: string[] = [];
  if (!o.gateway && !p.gateway.adminAddress) missing.push(`${PREFIX}GATEWAY_ADMIN`);
  if (!consoleSettings) missing.push(`${PREFIX}GATEWAY_HOST`);

  let deps: DomainDeps;
  try {
    let gateway = o.gateway;
    if (!gateway && p.gateway.adminAddress) {
      const client = new GatewayAdminClient(p.gateway.adminAddress, { ...(p.gateway.adminTls && { tls: p.gateway.adminTls }), deadlineMs: 10_000 });
      closers.push(() => client.close());
      gateway = new GrpcGatewayAccess(client);
    }
    gateway ??= new NoGateway();
    const gw = gateway;

    let store = o.store;
    if (!store) {
      const own = new KubernetesStore({ ...(p.kubeconfig !== undefined && { kubeconfig: p.kubeconfig }), component: 'deskplane.io/api' });
      closers.push(() => own.close());
      store = own;
    }
    const secrets = o.secrets ?? (store instanceof KubernetesStore ? kubernetesSecretStore(store.kc) : embeddedSecretStore(store));

    let redis = o.redis;
    if (!redis && p.redisUrl) {
      // One retry, not redisOptions' unbounded wait: a request needing Redis answers 503 rather than hanging.
      const own = new Redis({ ...redisOptions(p.redisUrl), maxRetriesPerRequest: 1, connectTimeout: 5_000 });
      // Errors surface on the calls that need Redis (503); the client reconnects by itself.
      own.on('error', () => undefined);
      closers.push(() => own.disconnect());
      redis = own;
    }
    const queues = redis ? new BullQueueStats({ connection: redis, prefix: p.queuePrefix }) : undefined;
    if (queues) closers.unshift(() => queues.close());

    const auditLog = o.audit ?? new MemoryAuditLog();
    const sessionAudit = redis ? new RedisAuditReader(redis, { prefix: p.auditPrefix }) : undefined;
    const templates = new Templates({ store, sharedNamespace: p.sharedTemplatesNamespace });
    const tenants = new Tenants({ store, audit: auditLog });
    const desktops = new Desktops({ store, templates, tenants, audit: auditLog });
    closers.unshift(() => desktops.close());
    // Made here rather than by the app, so the pool metrics land in the registry /metrics serves.
    const metrics = o.metrics ?? new Registry();
    const consoles: DomainDeps['consoles'] = consoleSettings
      ? new Consoles({ store, secrets, gateway: gw, config: consoleSettings, audit: auditLog })
      : {
          open: () => Promise.reject(new Unavailable(`this server has no gateway address for consoles configured (${PREFIX}GATEWAY_HOST)`)),
          checkKind: () => {
            throw new Unavailable(`this server has no gateway address for consoles configured (${PREFIX}GATEWAY_HOST)`);
          },
        };

    const readiness: ReadinessCheck[] = [
      { name: 'store', check: async () => void (await clients(store).tenants.get('deskplane-readyz')) },
      ...(redis ? [{ name: 'redis', check: async () => void (await redis.ping()) }] : []),
      // Any answer will do, an empty list included: it proves the gateway is there.
      { name: 'gateway', check: async () => void (await gw.listSessions({ tenant: 'deskplane-readyz' })) },
      ...(missing.length ? [{ name: 'settings', check: () => { throw new Error(`not configured: ${missing.join(', ')}`); } }] : []),
      ...(o.readiness ?? []),
    ];
    deps = {
      ...(o.logger && { logger: o.logger }),
      metrics,
      readiness,
      // A Tenant's spec.admins make its users tenant admins, whatever their token's groups say.
      extraRoles: async (c) => (c.tenant && (await tenants.isAdmin(c.tenant, c.user, c.groups)) ? ['tenant-admin'] : []),
      desktops,
      templates,
      tenants,
      consoles,
      pools: new Pools({ store, consoles, audit: auditLog, metrics: new PoolMetrics(metrics), consoleWaitMs: p.poolConsoleWaitSeconds * 1000 }),
      sessions: new Sessions({ gateway: gw, audit: auditLog }),
      ops: new Ops({ store, ...(queues && { queues }), auditLog: new CombinedAuditReader(auditLog, sessionAudit), audit: auditLog }),
      policies: new TenantPolicies(store),
      consoleLimit: RateLimiter.perMinute(p.consolesPerUserPerMinute),
    };
  } catch (err) {
    for (const c of closers) void Promise.resolve().then(c).catch(() => undefined);
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    deps,
    missing,
    controllers: [...DOMAIN_CONTROLLERS],
    close: () =>
      (closed ??= (async () => {
        for (const c of closers) await Promise.resolve().then(c).catch(() => undefined);
      })()),
  };
}

/** buildApi, then the app listening on config.listen; close() stops the app, then what buildApi opened. */
export async function startApi(o: BuildApiOptions): Promise<ApiApp> {
  const built = buildApi(o);
  let api: ApiApp;
  try {
    api = await createApiApp(built.deps, o.config, { controllers: built.controllers });
  } catch (err) {
    await built.close();
    throw err;
  }
  if (built.missing.length) api.runtime.logger.warn({ event: 'api.unconfigured', missing: built.missing }, `not configured, their routes answer 503: ${built.missing.join(', ')}`);
  let closed: Promise<void> | undefined;
  return {
    ...api,
    close: () => (closed ??= api.close().finally(() => built.close())),
  };
}
