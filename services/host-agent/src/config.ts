import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { CapacityPolicy, Resources } from './service/capacity';
import { DEFAULT_EVENT_RETENTION } from './service/event-log';

/**
 * The host agent's configuration: environment variables (DESKPLANE_HOST_AGENT_*), on top
 * of an optional JSON file named by DESKPLANE_HOST_AGENT_CONFIG (same keys as
 * HostAgentConfig, camelCase; sizes as numbers of bytes or strings like "512MiB").
 * Environment variables win over the file. Every problem is reported naming the variable.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA that signs the clients' certificates; the server requires one (mutual TLS). */
  clientCaFile: string;
}

export interface HostAgentConfig {
  /** Name used in messages and logs ("host-1 has 1.2 GiB of …"); default: the node's hostname. */
  hostName?: string;
  listen: ListenAddress;
  /** HTTP /metrics and /healthz; undefined = off. */
  metricsListen?: ListenAddress;
  libvirtUri: string;
  /** Address guests' SPICE servers and incoming migrations listen on (what clients dial). */
  consoleAddress: string;
  /** libvirt URI a peer host's libvirtd uses to reach this host; default libvirtUri. */
  migrationUri: string;
  storageDir: string;
  goldenImagesDir: string;
  assumeSharedStorage: boolean;
  /** undefined = detect at start. */
  domainType?: 'kvm' | 'qemu';
  capacity: CapacityPolicy;
  tls?: TlsFiles;
  eventRetention: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** How long close() waits for RPCs in flight before cutting them. */
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

const PREFIX = 'DESKPLANE_HOST_AGENT_';
const MiB = 1024n * 1024n;

/** Each setting: env variable suffix, JSON key, parser. */
type Source = Record<string, unknown>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HostAgentConfig {
  let file: Source = {};
  const path = env[`${PREFIX}CONFIG`];
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`${PREFIX}CONFIG`, `cannot read ${path}: ${(err as Error).message}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the top level must be an object');
      file = parsed as Source;
    } catch (err) {
      throw new ConfigError(`${PREFIX}CONFIG`, `${path} is not a JSON object: ${(err as Error).message}`);
    }
  }
  return parseConfig(file, env);
}

/** Merges a JSON object (from the config file) with the environment. Exported for tests. */
export function parseConfig(file: Source, env: NodeJS.ProcessEnv): HostAgentConfig {
  const r = new Reader(file, env, path => `${PREFIX}CONFIG (${path})`);

  const libvirtUri = r.string('LIBVIRT_URI', 'libvirtUri') ?? 'qemu:///system';
  const consoleAddress = r.string('CONSOLE_ADDRESS', 'consoleAddress');
  if (!consoleAddress) {
    throw new ConfigError(`${PREFIX}CONSOLE_ADDRESS`, 'is required: the address of this host that SPICE clients and peer hosts dial (e.g. 10.0.0.11)');
  }
  if (/[\s/:]/.test(consoleAddress) && isIP(consoleAddress) !== 6) {
    throw new ConfigError(`${PREFIX}CONSOLE_ADDRESS`, `must be a host name or IP address without scheme or port, got "${consoleAddress}"`);
  }

  const certFile = r.string('TLS_CERT', 'tls.certFile');
  const keyFile = r.string('TLS_KEY', 'tls.keyFile');
  const clientCaFile = r.string('TLS_CLIENT_CA', 'tls.clientCaFile');
  let tls: TlsFiles | undefined;
  const tlsSet = [certFile, keyFile, clientCaFile].filter(Boolean).length;
  if (tlsSet > 0) {
    if (!certFile || !keyFile || !clientCaFile) {
      const missing = [!certFile && 'TLS_CERT', !keyFile && 'TLS_KEY', !clientCaFile && 'TLS_CLIENT_CA'].filter(Boolean).join(', ');
      throw new ConfigError(`${PREFIX}${missing.split(', ')[0]}`, `TLS needs the certificate, its key and the client CA together; missing ${missing.split(', ').map(v => PREFIX + v).join(', ')}`);
    }
    tls = { certFile, keyFile, clientCaFile };
  }

  const override: Partial<Resources> = {};
  const vcpus = r.integer('CAPACITY_VCPUS', 'capacity.override.vcpus', 1, 1_000_000);
  if (vcpus !== undefined) override.vcpus = vcpus;
  const memoryBytes = r.size('CAPACITY_MEMORY', 'capacity.override.memoryBytes');
  if (memoryBytes !== undefined) override.memoryBytes = memoryBytes;
  const diskBytes = r.size('CAPACITY_DISK', 'capacity.override.diskBytes');
  if (diskBytes !== undefined) override.diskBytes = diskBytes;

  const domainType = r.oneOf('DOMAIN_TYPE', 'domainType', ['kvm', 'qemu', 'detect'] as const) ?? 'detect';
  const metrics = r.string('METRICS_LISTEN', 'metricsListen') ?? '0.0.0.0:9464';

  return {
    hostName: r.string('HOST_NAME', 'hostName'),
    listen: parseListen(`${PREFIX}LISTEN`, r.string('LISTEN', 'listen') ?? '0.0.0.0:7443'),
    metricsListen: metrics === 'off' || metrics === '' ? undefined : parseListen(`${PREFIX}METRICS_LISTEN`, metrics),
    libvirtUri,
    consoleAddress,
    migrationUri: r.string('MIGRATION_URI', 'migrationUri') ?? libvirtUri,
    storageDir: r.string('STORAGE_DIR', 'storageDir') ?? '/var/lib/deskplane/guests',
    goldenImagesDir: r.string('GOLDEN_IMAGES_DIR', 'goldenImagesDir') ?? '/var/lib/deskplane/golden',
    assumeSharedStorage: r.boolean('ASSUME_SHARED_STORAGE', 'assumeSharedStorage') ?? false,
    domainType: domainType === 'detect' ? undefined : domainType,
    capacity: {
      cpuOvercommit: r.number('CPU_OVERCOMMIT', 'capacity.cpuOvercommit', 0.1, 64) ?? 4,
      memoryOvercommit: r.number('MEMORY_OVERCOMMIT', 'capacity.memoryOvercommit', 0.1, 16) ?? 1,
      reservedMemoryBytes: r.size('RESERVED_MEMORY', 'capacity.reservedMemoryBytes') ?? 512n * MiB,
      ...(Object.keys(override).length > 0 ? { override } : {}),
    },
    tls,
    eventRetention: r.integer('EVENT_RETENTION', 'eventRetention', 1, 10_000_000) ?? DEFAULT_EVENT_RETENTION,
    logLevel: r.oneOf('LOG_LEVEL', 'logLevel', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const) ?? 'info',
    shutdownGraceMs: r.integer('SHUTDOWN_GRACE_MS', 'shutdownGraceMs', 0, 3_600_000) ?? 10_000,
  };
}

/** "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port. */
export function parseListen(variable: string, value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new ConfigError(variable, `must be host:port (e.g. 0.0.0.0:7443 or [::]:7443), got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * A byte size: a number of bytes, or a number with a binary unit ("512MiB", "2 GiB",
 * "1.5GiB"). Decimal units (MB, GB) are refused to avoid silent 7% mistakes.
 */
export function parseSize(text: string): bigint | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = { B: 1n, KiB: 1024n, MiB: MiB, GiB: 1024n * MiB, TiB: 1024n * 1024n * MiB }[(m[2] ?? 'B') as 'B'];
  const [whole, frac = ''] = m[1]!.split('.');
  const scale = 10n ** BigInt(frac.length);
  const bytes = (BigInt(whole! + frac) * unit) / scale;
  return frac !== '' && (BigInt(whole! + frac) * unit) % scale !== 0n ? undefined : bytes;
}

class Reader {
  constructor(
    private readonly file: Source,
    private readonly env: NodeJS.ProcessEnv,
    private readonly fileName: (path: string) => string,
  ) {}

  /** The raw value and the name to blame for it. */
  private raw(suffix: string, key: string): { value: unknown; name: string } | undefined {
    const envValue = this.env[PREFIX + suffix];
    if (envValue !== undefined) return { value: envValue, name: PREFIX + suffix };
    let v: unknown = this.file;
    for (const part of key.split('.')) v = typeof v === 'object' && v !== null ? (v as Source)[part] : undefined;
    return v === undefined || v === null ? undefined : { value: v, name: this.fileName(key) };
  }

  string(suffix: string, key: string): string | undefined {
    const r = this.raw(suffix, key);
    if (!r) return undefined;
    if (typeof r.value !== 'string') throw new ConfigError(r.name, `must be a string, got ${JSON.stringify(r.value)}`);
    return r.value.trim() === '' ? undefined : r.value.trim();
  }

  boolean(suffix: string, key: string): boolean | undefined {
    const r = this.raw(suffix, key);
    if (!r) return undefined;
    if (typeof r.value === 'boolean') return r.value;
    const s = String(r.value).trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    throw new ConfigError(r.name, `must be true or false, got "${String(r.value)}"`);
  }

  number(suffix: string, key: string, min: number, max: number): number | undefined {
    const r = this.raw(suffix, key);
    if (!r) return undefined;
    const n = typeof r.value === 'number' ? r.value : typeof r.value === 'string' && r.value.trim() !== '' ? Number(r.value) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(r.name, `must be a number from ${min} to ${max}, got "${String(r.value)}"`);
    return n;
  }

  integer(suffix: string, key: string, min: number, max: number): number | undefined {
    const r = this.raw(suffix, key);
    const n = this.number(suffix, key, min, max);
    if (n !== undefined && !Number.isInteger(n)) throw new ConfigError(r!.name, `must be a whole number from ${min} to ${max}, got "${String(r!.value)}"`);
    return n;
  }

  size(suffix: string, key: string): bigint | undefined {
    const r = this.raw(suffix, key);
    if (!r) return undefined;
    const bytes =
      typeof r.value === 'number' && Number.isSafeInteger(r.value) && r.value >= 0
        ? BigInt(r.value)
        : typeof r.value === 'string'
          ? parseSize(r.value)
          : undefined;
    if (bytes === undefined) throw new ConfigError(r.name, `must be a size in bytes or with a binary unit (e.g. 512MiB, 2GiB), got "${String(r.value)}"`);
    return bytes;
  }

  oneOf<const V extends string>(suffix: string, key: string, values: readonly V[]): V | undefined {
    const v = this.string(suffix, key);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      throw new ConfigError(this.raw(suffix, key)!.name, `must be one of ${values.join(', ')}, got "${v}"`);
    }
    return v as V;
  }
}
