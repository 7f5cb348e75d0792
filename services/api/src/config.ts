import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TENANT_GROUP_PREFIX } from './auth/kubernetes-tokens';
import { DEFAULT_CLAIMS, type ClaimMapping } from './auth/verifier';

/**
 * The API's configuration from DESKPLANE_API_* environment variables. Every problem is a
 * ConfigError naming the variable, raised before anything listens. At least one way to
 * sign in must be configured: an OIDC provider (DESKPLANE_API_OIDC_*) and/or the built-in
 * identity provider (DESKPLANE_API_USERS_FILE).
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface OidcConfig {
  issuer: string;
  audience: string;
  jwksUrl: string;
  claims: ClaimMapping;
  algorithms?: string[];
}

export interface BuiltinIdpConfig {
  usersFile: string;
  /** Holds the signing key and the refresh-token hashes. */
  dataDir: string;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export interface ApiConfig {
  listen: { host: string; port: number };
  logLevel: LogLevel;
  /** Fastify's trustProxy: true, or the proxies' addresses / CIDRs. Decides the client IP rate limits see. */
  trustProxy: boolean | string[];
  bodyLimitBytes: number;
  /** Swagger UI at /docs and the document at /docs/openapi.json. */
  docs: boolean;
  /** The built web console (web-console/dist), served at /ui/; unset = no UI. */
  uiDir?: string;
  /** Check every 2xx body against its declared schema (tests, staging); a mismatch is a 500. */
  validateResponses: boolean;
  auth: {
    oidc?: OidcConfig;
    builtin?: BuiltinIdpConfig;
    /** Tokens no issuer above signed go to the cluster's TokenReview (kubectl credentials). */
    kubernetes?: { tenantGroupPrefix: string };
    roleGroups: { tenantAdmin?: string; platformOps?: string };
    clockToleranceSeconds: number;
  };
  loginRateLimit: { perIpPerMinute: number; failuresPerUserPerMinute: number };
  /** What the routes work on: store, gateway, Redis (wiring.ts builds them; it names what is missing). */
  platform: PlatformConfig;
}

/**
 * The parts behind the routes. All optional here so that an app without domain routes (tests
 * of the foundation) needs none of them; buildApi (wiring.ts) refuses to start without what
 * it cannot replace, naming the variable.
 */
export interface PlatformConfig {
  /** Kubeconfig of the cluster holding the desktops; unset = in-cluster, $KUBECONFIG or ~/.kube. */
  kubeconfig?: string;
  /** Namespace of the templates every tenant may use; null = none. */
  sharedTemplatesNamespace: string | null;
  gateway: {
    /** host:port of the gateway's admin gRPC API (tickets, sessions). */
    adminAddress?: string;
    /** Mutual TLS to the admin API: CA of the gateway's certificate, this client's certificate and key. */
    adminTls?: { caFile: string; certFile: string; keyFile: string };
    /** What `.vv` files name: the gateway's public host and SPICE port. */
    host?: string;
    port: number;
    tlsPort?: number;
    /** PEM file of the CA behind the TLS port's certificate (goes into `.vv` files). */
    caFile?: string;
    hostSubject?: string;
    /** `proxy=` of `.vv` files: the gateway's HTTP CONNECT front, http://host:port. */
    proxy?: string;
  };
  /** Base URL of the browser console; unset = browser consoles are off. */
  browserConsoleUrl?: string;
  ticketTtlSeconds: number;
  consolesPerUserPerMinute: number;
  /** How long GET /pools/{name}/console waits for the claimed desktop to run. */
  poolConsoleWaitSeconds: number;
  /** Redis of the work queues and of the gateway's audit stream; unset = no queue statistics, no session audit. */
  redisUrl?: string;
  /** BullMQ prefix of the operator's and orchestrator's queues. */
  queuePrefix: string;
  /** The gateway's Redis key prefix (its TICKET_PREFIX): its audit stream is `<prefix>:audit`. */
  auditPrefix: string;
}

/** Thrown when the configuration is unusable; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export const PREFIX = 'DESKPLANE_API_';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function parseConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const r = new Reader(env);
  const oidc = oidcConfig(r);
  const builtin = builtinConfig(r);
  const kubernetes = r.boolean('KUBERNETES_AUTH', false);
  const tenantGroupPrefix = r.string('KUBERNETES_TENANT_GROUP_PREFIX') ?? DEFAULT_TENANT_GROUP_PREFIX;
  if (!oidc && !builtin && !kubernetes) {
    throw new ConfigError(
      `${PREFIX}USERS_FILE`,
      `no way to sign in is configured: set ${PREFIX}USERS_FILE (built-in identity provider), ${PREFIX}OIDC_ISSUER with ${PREFIX}OIDC_AUDIENCE and ${PREFIX}OIDC_JWKS_URL, and/or ${PREFIX}KUBERNETES_AUTH=on (Kubernetes credentials)`,
    );
  }
  const trust = r.string('TRUST_PROXY');
  let trustProxy: boolean | string[] = false;
  if (trust !== undefined) trustProxy = /^(true|false|1|0|yes|no|on|off)$/i.test(trust) ? r.boolean('TRUST_PROXY') : r.list('TRUST_PROXY');
  return {
    listen: parseListen(`${PREFIX}LISTEN`, r.string('LISTEN') ?? '0.0.0.0:8080'),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS) ?? 'info',
    trustProxy,
    bodyLimitBytes: r.integer('BODY_LIMIT', 1_024, 64 * 1024 * 1024) ?? 1024 * 1024,
    docs: r.boolean('DOCS', true),
    ...(r.string('UI_DIR') !== undefined && { uiDir: r.string('UI_DIR') }),
    validateResponses: r.boolean('VALIDATE_RESPONSES', false),
    auth: {
      ...(oidc && { oidc }),
      ...(builtin && { builtin }),
      ...(kubernetes && { kubernetes: { tenantGroupPrefix } }),
      roleGroups: { tenantAdmin: r.string('ADMIN_GROUP') ?? 'deskplane-tenant-admins', platformOps: r.string('OPS_GROUP') ?? 'deskplane-platform-ops' },
      clockToleranceSeconds: r.integer('CLOCK_TOLERANCE_S', 0, 300) ?? 5,
    },
    loginRateLimit: {
      perIpPerMinute: r.integer('LOGIN_PER_IP_PER_MINUTE', 1, 100_000) ?? 20,
      failuresPerUserPerMinute: r.integer('LOGIN_FAILURES_PER_USER_PER_MINUTE', 1, 100_000) ?? 5,
    },
    platform: platformConfig(r),
  };
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):\d{1,5}$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function platformConfig(r: Reader): PlatformConfig {
  const admin = r.string('GATEWAY_ADMIN');
  if (admin !== undefined && !HOST_PORT.test(admin)) throw new ConfigError(`${PREFIX}GATEWAY_ADMIN`, `must be host:port of the gateway's admin API, got "${admin}"`);
  const tlsParts = { caFile: r.string('GATEWAY_ADMIN_CA'), certFile: r.string('GATEWAY_ADMIN_CERT'), keyFile: r.string('GATEWAY_ADMIN_KEY') };
  const given = Object.values(tlsParts).filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) throw new ConfigError(`${PREFIX}GATEWAY_ADMIN_CA`, `${PREFIX}GATEWAY_ADMIN_CA, _CERT and _KEY go together (mutual TLS to the admin API)`);
  const shared = r.string('SHARED_TEMPLATES_NAMESPACE');
  if (shared !== undefined && shared !== 'none' && !LABEL.test(shared)) throw new ConfigError(`${PREFIX}SHARED_TEMPLATES_NAMESPACE`, `must be a namespace name, or "none", got "${shared}"`);
  const proxy = r.string('GATEWAY_PROXY');
  if (proxy !== undefined && !/^https?:\/\/[^\s/]+\/?$/i.test(proxy)) throw new ConfigError(`${PREFIX}GATEWAY_PROXY`, `must be http://host:port (the gateway's CONNECT front), got "${proxy}"`);
  const redisUrl = r.string('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw new ConfigError(`${PREFIX}REDIS_URL`, `must be redis://host:port (or rediss://), got "${redisUrl}"`);
  const host = r.string('GATEWAY_HOST');
  const port = r.integer('GATEWAY_PORT', 1, 65_535);
  const tlsPort = r.integer('GATEWAY_TLS_PORT', 1, 65_535);
  const caFile = r.string('GATEWAY_CA');
  const hostSubject = r.string('GATEWAY_HOST_SUBJECT');
  const browser = r.url('BROWSER_CONSOLE_URL');
  return {
    ...(r.string('KUBECONFIG') !== undefined && { kubeconfig: r.string('KUBECONFIG') }),
    sharedTemplatesNamespace: shared === 'none' ? null : (shared ?? 'deskplane-system'),
    gateway: {
      ...(admin !== undefined && { adminAddress: admin }),
      ...(given === 3 && { adminTls: tlsParts as { caFile: string; certFile: string; keyFile: string } }),
      ...(host !== undefined && { host }),
      port: port ?? 5900,
      ...(tlsPort !== undefined && { tlsPort }),
      ...(caFile !== undefined && { caFile }),
      ...(hostSubject !== undefined && { hostSubject }),
      ...(proxy !== undefined && { proxy }),
    },
    ...(browser !== undefined && { browserConsoleUrl: browser }),
    ticketTtlSeconds: r.integer('TICKET_TTL_S', 5, 3600) ?? 60,
    consolesPerUserPerMinute: r.integer('CONSOLE_PER_USER_PER_MINUTE', 1, 100_000) ?? 10,
    poolConsoleWaitSeconds: r.integer('POOL_CONSOLE_WAIT_S', 0, 900) ?? 120,
    ...(redisUrl !== undefined && { redisUrl }),
    queuePrefix: r.string('QUEUE_PREFIX') ?? 'deskplane',
    auditPrefix: r.string('AUDIT_PREFIX') ?? 'deskplane:gateway',
  };
}

function oidcConfig(r: Reader): OidcConfig | undefined {
  const issuer = r.string('OIDC_ISSUER');
  if (!issuer) {
    for (const v of ['OIDC_AUDIENCE', 'OIDC_JWKS_URL']) if (r.string(v)) throw new ConfigError(`${PREFIX}OIDC_ISSUER`, `is required with ${PREFIX}${v}`);
    return undefined;
  }
  const audience = r.string('OIDC_AUDIENCE');
  if (!audience) throw new ConfigError(`${PREFIX}OIDC_AUDIENCE`, `is required with ${PREFIX}OIDC_ISSUER: the "aud" value the provider puts in tokens for this API (often its client id)`);
  const jwksUrl = r.url('OIDC_JWKS_URL');
  if (!jwksUrl) throw new ConfigError(`${PREFIX}OIDC_JWKS_URL`, `is required with ${PREFIX}OIDC_ISSUER: the provider's jwks_uri (see its /.well-known/openid-configuration)`);
  const algorithms = r.list('OIDC_ALGORITHMS');
  for (const a of algorithms) if (!/^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(a)) throw new ConfigError(`${PREFIX}OIDC_ALGORITHMS`, `must list asymmetric JWS algorithms (RS256, ES256, EdDSA, ...), got "${a}"`);
  return {
    issuer,
    audience,
    jwksUrl,
    claims: {
      user: r.string('OIDC_USER_CLAIM') ?? DEFAULT_CLAIMS.user,
      tenant: r.string('OIDC_TENANT_CLAIM') ?? DEFAULT_CLAIMS.tenant,
      groups: r.string('OIDC_GROUPS_CLAIM') ?? DEFAULT_CLAIMS.groups,
    },
    ...(algorithms.length > 0 && { algorithms }),
  };
}

function builtinConfig(r: Reader): BuiltinIdpConfig | undefined {
  const usersFile = r.string('USERS_FILE');
  if (!usersFile) return undefined;
  return {
    usersFile,
    dataDir: r.string('DATA_DIR') ?? join(homedir(), '.local', 'state', 'deskplane', 'api'),
    issuer: r.string('IDP_ISSUER') ?? 'deskplane-builtin-idp',
    audience: r.string('IDP_AUDIENCE') ?? 'deskplane-api',
    accessTtlSeconds: r.integer('ACCESS_TOKEN_TTL_S', 30, 86_400) ?? 900,
    refreshTtlSeconds: r.integer('REFRESH_TOKEN_TTL_S', 60, 90 * 86_400) ?? 12 * 3600,
  };
}

/** "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port. */
export function parseListen(variable: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new ConfigError(variable, `must be host:port (e.g. 0.0.0.0:8080 or [::]:8080), got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

class Reader {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  string(suffix: string): string | undefined {
    const v = this.env[PREFIX + suffix]?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  list(suffix: string): string[] {
    return (this.string(suffix) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }

  boolean(suffix: string, dflt = false): boolean {
    const v = this.string(suffix)?.toLowerCase();
    if (v === undefined) return dflt;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    throw new ConfigError(PREFIX + suffix, `must be true or false, got "${v}"`);
  }

  integer(suffix: string, min: number, max: number): number | undefined {
    const v = this.string(suffix);
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(PREFIX + suffix, `must be a whole number from ${min} to ${max}, got "${v}"`);
    return n;
  }

  oneOf<const V extends string>(suffix: string, values: readonly V[]): V | undefined {
    const v = this.string(suffix);
    if (v !== undefined && !(values as readonly string[]).includes(v)) throw new ConfigError(PREFIX + suffix, `must be one of ${values.join(', ')}, got "${v}"`);
    return v as V | undefined;
  }

  url(suffix: string): string | undefined {
    const v = this.string(suffix);
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new ConfigError(PREFIX + suffix, `must be an http(s) URL, got "${v}"`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(PREFIX + suffix, `must be an http(s) URL, got "${v}"`);
    return v;
  }
}
