import { isIP } from 'node:net';

/**
 * The gateway's configuration from environment variables (DESKPLANE_GATEWAY_*). Every
 * problem is reported at start as a ConfigError naming the variable. The SPICE fronts'
 * ports default to the usual ones; the admin API listens on loopback unless given mutual
 * TLS (or explicitly allowed to run without it), because it mints tickets.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

/** A server certificate and its key (PEM files). */
export interface TlsPair {
  certFile: string;
  keyFile: string;
}

/** Mutual TLS, the host agent's shape: the server requires a client certificate signed by clientCaFile. */
export interface TlsFiles extends TlsPair {
  clientCaFile: string;
}

export type TicketStoreConfig =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string; prefix?: string; key: Buffer; previousKeys: Buffer[] };

export type PolicySourceConfig =
  | { kind: 'none' }
  | { kind: 'kube'; kubeconfig?: string; namespace?: string }
  | { kind: 'embedded'; dir: string; namespace?: string };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface GatewayConfig {
  /** Plain SPICE over TCP (remote-viewer spice://). */
  listen: ListenAddress;
  tls?: TlsPair;
  httpConnect?: { listen: ListenAddress; allowedTargets: string[]; tls?: TlsPair };
  websocket?: { listen: ListenAddress; path?: string; allowedOrigins?: string[]; maxPayload?: number; tls?: TlsPair };
  /** undefined = off. */
  admin?: { listen: ListenAddress; tls?: TlsFiles };
  /** HTTP /metrics, /healthz, /readyz; undefined = off. */
  metricsListen?: ListenAddress;
  tickets: TicketStoreConfig;
  policy: PolicySourceConfig;
  handshakeTimeoutMs: number;
  failedTickets: { maxFailures: number; windowMs: number };
  logLevel: LogLevel;
  /** How long a stop waits for admin calls in flight before cutting them. */
  shutdownGraceMs: number;
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

export const PREFIX = 'DESKPLANE_GATEWAY_';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port. */
export function parseListen(variable: string, value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new ConfigError(variable, `must be host:port (e.g. 0.0.0.0:5900 or [::]:5900), got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

export function parseConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const r = new Reader(env);

  const listen = parseListen(`${PREFIX}LISTEN`, r.string('LISTEN') ?? '0.0.0.0:5900');
  const connectListen = r.listen('CONNECT_LISTEN');
  let httpConnect: GatewayConfig['httpConnect'];
  if (connectListen) {
    const allowedTargets = r.list('CONNECT_ALLOWED_TARGETS');
    if (allowedTargets.length === 0) {
      throw new ConfigError(`${PREFIX}CONNECT_ALLOWED_TARGETS`, 'is required with CONNECT_LISTEN: the host:port values the .vv files name (e.g. gw.example.com:5900)');
    }
    for (const t of allowedTargets) {
      if (!/^(?:\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/.test(t)) throw new ConfigError(`${PREFIX}CONNECT_ALLOWED_TARGETS`, `entries must be host:port, got "${t}"`);
    }
    httpConnect = { listen: connectListen, allowedTargets, ...opt('tls', r.tlsPair('CONNECT_TLS')) };
  }

  const wsListen = r.listen('WS_LISTEN');
  let websocket: GatewayConfig['websocket'];
  if (wsListen) {
    const path = r.string('WS_PATH');
    if (path !== undefined && !path.startsWith('/')) throw new ConfigError(`${PREFIX}WS_PATH`, `must start with "/", got "${path}"`);
    const origins = r.list('WS_ALLOWED_ORIGINS');
    for (const o of origins) {
      if (!/^https?:\/\/[^/\s]+$/.test(o)) throw new ConfigError(`${PREFIX}WS_ALLOWED_ORIGINS`, `entries must be origins like https://console.example.com (no path), got "${o}"`);
    }
    websocket = {
      listen: wsListen,
      ...opt('path', path),
      ...(origins.length > 0 && { allowedOrigins: origins }),
      ...opt('maxPayload', r.integer('WS_MAX_PAYLOAD', 1_024, 64 * 1024 * 1024)),
      ...opt('tls', r.tlsPair('WS_TLS')),
    };
  }

  const adminListen = r.listen('ADMIN_LISTEN', '127.0.0.1:7444');
  let admin: GatewayConfig['admin'];
  if (adminListen) {
    const tls = r.mutualTls('ADMIN_TLS');
    if (!tls && !isLoopback(adminListen.host) && !r.boolean('ADMIN_INSECURE')) {
      throw new ConfigError(
        `${PREFIX}ADMIN_LISTEN`,
        `${adminListen.host} is not a loopback address: the admin API mints tickets, so set ADMIN_TLS_CERT, ADMIN_TLS_KEY and ADMIN_TLS_CLIENT_CA (mutual TLS), or ${PREFIX}ADMIN_INSECURE=true if something else protects it`,
      );
    }
    admin = { listen: adminListen, ...opt('tls', tls) };
  }

  return {
    listen,
    ...opt('tls', r.tlsPair('TLS')),
    ...opt('httpConnect', httpConnect),
    ...opt('websocket', websocket),
    ...opt('admin', admin),
    ...opt('metricsListen', r.listen('METRICS_LISTEN', '0.0.0.0:9466')),
    tickets: ticketStore(r),
    policy: policySource(r, env),
    handshakeTimeoutMs: r.integer('HANDSHAKE_TIMEOUT_MS', 100, 300_000) ?? 10_000,
    failedTickets: { maxFailures: r.integer('FAILED_TICKETS_PER_MINUTE', 1, 100_000) ?? 5, windowMs: 60_000 },
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS) ?? 'info',
    shutdownGraceMs: r.integer('SHUTDOWN_GRACE_MS', 0, 3_600_000) ?? 10_000,
  };
}

function ticketStore(r: Reader): TicketStoreConfig {
  const v = r.string('TICKET_STORE') ?? 'memory';
  if (v === 'memory') return { kind: 'memory' };
  if (!/^rediss?:\/\/[^\s]+$/.test(v)) throw new ConfigError(`${PREFIX}TICKET_STORE`, `must be "memory" or a redis://host:port URL, got "${v.replace(/\/\/[^@/]*@/, '//***@')}"`);
  // Several replicas share the store, so guest passwords in it are sealed with a key they all hold.
  const key = r.key32('TICKET_KEY');
  if (!key) throw new ConfigError(`${PREFIX}TICKET_KEY`, 'is required with a Redis ticket store: base64 of 32 random bytes (e.g. `openssl rand -base64 32`), the same on every replica');
  const previousKeys = r.list('TICKET_PREVIOUS_KEYS').map((k, i) => decodeKey(`${PREFIX}TICKET_PREVIOUS_KEYS (entry ${i + 1})`, k));
  return { kind: 'redis', url: v, ...opt('prefix', r.string('TICKET_PREFIX')), key, previousKeys };
}

function policySource(r: Reader, env: NodeJS.ProcessEnv): PolicySourceConfig {
  const v = r.string('POLICY_SOURCE') ?? 'none';
  const namespace = r.string('POLICY_NAMESPACE');
  if (namespace !== undefined && !/^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new ConfigError(`${PREFIX}POLICY_NAMESPACE`, `must be a namespace name, got "${namespace}"`);
  }
  if (v === 'none') return { kind: 'none' };
  if (v === 'kube') {
    const kubeconfig = r.string('KUBECONFIG') ?? (env.KUBECONFIG?.trim() || undefined);
    return { kind: 'kube', ...opt('kubeconfig', kubeconfig), ...opt('namespace', namespace) };
  }
  if (v.startsWith('embedded:') && v.length > 'embedded:'.length) return { kind: 'embedded', dir: v.slice('embedded:'.length), ...opt('namespace', namespace) };
  throw new ConfigError(`${PREFIX}POLICY_SOURCE`, `must be "kube" (KUBECONFIG or in-cluster), "embedded:<dir>" or "none", got "${v}"`);
}

function decodeKey(variable: string, raw: string): Buffer {
  const key = Buffer.from(raw, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw) || key.length !== 32) throw new ConfigError(variable, `must be base64 of 32 bytes, got ${key.length} bytes`);
  return key;
}

/** `{ [k]: v }` when v is defined, else `{}`: keeps absent settings absent. */
function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

class Reader {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  string(suffix: string): string | undefined {
    const v = this.env[PREFIX + suffix]?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  /** Comma-separated, blanks dropped. */
  list(suffix: string): string[] {
    return (this.string(suffix) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }

  /** A listen address, or undefined when unset (and no default) or "off". */
  listen(suffix: string, dflt?: string): ListenAddress | undefined {
    const v = this.string(suffix) ?? dflt;
    return v === undefined || v === 'off' ? undefined : parseListen(PREFIX + suffix, v);
  }

  boolean(suffix: string): boolean {
    const v = this.string(suffix)?.toLowerCase();
    if (v === undefined || ['0', 'false', 'no', 'off'].includes(v)) return false;
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

  key32(suffix: string): Buffer | undefined {
    const v = this.string(suffix);
    return v === undefined ? undefined : decodeKey(PREFIX + suffix, v);
  }

  /** `<base>_CERT` and `<base>_KEY`, both or neither. */
  tlsPair(base: string): TlsPair | undefined {
    const certFile = this.string(`${base}_CERT`);
    const keyFile = this.string(`${base}_KEY`);
    if (!certFile && !keyFile) return undefined;
    if (!certFile) throw new ConfigError(`${PREFIX}${base}_CERT`, `is required with ${PREFIX}${base}_KEY (a certificate and its key go together)`);
    if (!keyFile) throw new ConfigError(`${PREFIX}${base}_KEY`, `is required with ${PREFIX}${base}_CERT (a certificate and its key go together)`);
    return { certFile, keyFile };
  }

  /** `<base>_CERT`, `_KEY` and `_CLIENT_CA`: all three or none. */
  mutualTls(base: string): TlsFiles | undefined {
    const clientCaFile = this.string(`${base}_CLIENT_CA`);
    const pair = this.tlsPair(base);
    if (!pair && !clientCaFile) return undefined;
    if (!pair) throw new ConfigError(`${PREFIX}${base}_CERT`, `mutual TLS needs ${PREFIX}${base}_CERT, ${PREFIX}${base}_KEY and ${PREFIX}${base}_CLIENT_CA together`);
    if (!clientCaFile) throw new ConfigError(`${PREFIX}${base}_CLIENT_CA`, `is required with ${PREFIX}${base}_CERT: the CA that signs the admin clients' certificates (mutual TLS)`);
    return { ...pair, clientCaFile };
  }
}
