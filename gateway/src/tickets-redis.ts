import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  ROUTE_TTL_MS,
  hashTicket,
  newTicket,
  recordFields,
  ttlError,
  type MintRequest,
  type TicketRecord,
  type TicketStore,
  type UpstreamTarget,
} from './tickets';

/** Environment variable holding the at-rest key for guest passwords (base64 of 32 bytes), shared by all replicas. */
export const TICKET_KEY_ENV = 'DESKPLANE_GATEWAY_TICKET_KEY';

/** The at-rest key from the environment; throws (naming the variable) when missing or not 32 bytes. */
export function ticketKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const raw = env[TICKET_KEY_ENV];
  if (raw === undefined || raw === '') throw new Error(`${TICKET_KEY_ENV} is not set (base64 of 32 random bytes)`);
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new Error(`${TICKET_KEY_ENV} must be base64 of 32 bytes, got ${key.length} bytes`);
  return key;
}

/** Short id of a key, stored with each ciphertext so a rotated-out key can still open old records. */
const keyId = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8);

/**
 * AES-256-GCM; `context` (the Redis key) is authenticated with it, so a sealed password
 * copied into another record does not open. Format: v1.<key id>.<base64url(iv|tag|ciphertext)>.
 */
export function sealPassword(password: string, key: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
  return `v1.${keyId(key)}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

/** Inverse of sealPassword with whichever of `keys` sealed it; throws when none can. */
export function openPassword(sealed: string, keys: readonly Buffer[], context: string): string {
  const [version, id, data] = sealed.split('.');
  const key = keys.find((k) => keyId(k) === id);
  if (version !== 'v1' || data === undefined) throw new Error('sealed guest password: unknown format');
  if (key === undefined) throw new Error(`sealed guest password: key ${id} is not configured (${TICKET_KEY_ENV} differs between replicas?)`);
  const raw = Buffer.from(data, 'base64url');
  if (raw.length < 28) throw new Error('sealed guest password: truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error('sealed guest password: does not authenticate (tampered, or moved from another record)');
  }
}

// Every script reads the record and writes it in one step: replicas race on bind/rebind.
// Expiry times come from Redis' own clock (TIME), so PEXPIREAT on unbind agrees with PEXPIRE at mint.

// KEYS: record. ARGV: ttlMs, then field/value pairs. Returns expiresAt (epoch ms).
const MINT = `
local t = redis.call('TIME')
local exp = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'expiresAt', exp, unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return exp
`;

// KEYS: record. ARGV: sessionId. A bound record must not expire: PERSIST.
const BIND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local cur = redis.call('HGET', KEYS[1], 'sessionId')
if cur and cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'sessionId', ARGV[1])
redis.call('PERSIST', KEYS[1])
return 1
`;

// KEYS: record. ARGV: sessionId. Back under its TTL; PEXPIREAT in the past deletes at once.
const UNBIND = `
if redis.call('HGET', KEYS[1], 'sessionId') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'sessionId')
redis.call('PEXPIREAT', KEYS[1], redis.call('HGET', KEYS[1], 'expiresAt'))
return 1
`;

// KEYS: record. ARGV: from, to. The record is bound, hence already persistent.
const REBIND = `
if redis.call('HGET', KEYS[1], 'sessionId') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'sessionId', ARGV[2])
return 1
`;

export interface RedisTicketStoreOptions {
  /** The caller owns the connection (and closes it). */
  redis: Redis;
  /** Every key starts with `${prefix}:`. Default `deskplane:gateway`. */
  prefix?: string;
  /** 32 bytes; seals guest passwords at rest. Same on every replica (ticketKeyFromEnv). */
  key: Buffer;
  /** Older keys still accepted for opening, during a key rotation. */
  previousKeys?: readonly Buffer[];
  /** Default ROUTE_TTL_MS. */
  routeTtlMs?: number;
}

/**
 * TicketStore in Redis, shared by gateway replicas. A ticket is a hash at
 * `<prefix>:ticket:<sha256(ticket)>` (the ticket itself is never stored) with PEXPIRE = TTL,
 * persistent while bound; a route is a string at `<prefix>:route:<desktop>`. Guest
 * passwords are sealed with AES-256-GCM under a gateway-held key.
 */
export class RedisTicketStore implements TicketStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly key: Buffer;
  private readonly keys: readonly Buffer[];
  private readonly routeTtlMs: number;

  constructor(opts: RedisTicketStoreOptions) {
    if (opts.key.length !== 32) throw new RangeError(`key must be 32 bytes, got ${opts.key.length}`);
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? 'deskplane:gateway';
    this.key = opts.key;
    this.keys = [opts.key, ...(opts.previousKeys ?? [])];
    this.routeTtlMs = opts.routeTtlMs ?? ROUTE_TTL_MS;
  }

  /** The Redis key of a ticket's record. */
  recordKey(ticketHash: string): string {
    return `${this.prefix}:ticket:${ticketHash}`;
  }

  /** The Redis key of a desktop's route. */
  routeKey(desktop: string): string {
    return `${this.prefix}:route:${desktop}`;
  }

  async mint(req: MintRequest): Promise<{ ticket: string; ticketHash: string; expiresAt: number }> {
    const bad = ttlError(req.ttlMs);
    if (bad !== undefined) throw bad;
    const { ticket, ticketHash } = newTicket();
    const k = this.recordKey(ticketHash);
    const f = recordFields(req);
    const fields = ['user', f.user, 'tenant', f.tenant, 'desktop', f.desktop, 'host', f.upstream.host, 'port', String(f.upstream.port)];
    fields.push('password', sealPassword(f.upstream.password, this.key, k));
    if (f.groups !== undefined) fields.push('groups', JSON.stringify(f.groups));
    if (f.policy !== undefined) fields.push('policy', f.policy);
    const expiresAt = Number(await this.redis.eval(MINT, 1, k, String(Math.ceil(req.ttlMs)), ...fields));
    return { ticket, ticketHash, expiresAt };
  }

  async redeem(ticket: string): Promise<TicketRecord | undefined> {
    const ticketHash = hashTicket(ticket);
    const k = this.recordKey(ticketHash);
    const h = await this.redis.hgetall(k);
    if (Object.keys(h).length === 0) return undefined;
    return this.parse(ticketHash, k, h);
  }

  async bind(ticketHash: string, sessionId: number): Promise<boolean> {
    return (await this.redis.eval(BIND, 1, this.recordKey(ticketHash), String(sessionId))) === 1;
  }

  async unbind(ticketHash: string, sessionId: number): Promise<void> {
    await this.redis.eval(UNBIND, 1, this.recordKey(ticketHash), String(sessionId));
  }

  async rebind(ticketHash: string, fromSessionId: number, toSessionId: number): Promise<boolean> {
    return (await this.redis.eval(REBIND, 1, this.recordKey(ticketHash), String(fromSessionId), String(toSessionId))) === 1;
  }

  async revoke(ticketHash: string): Promise<void> {
    await this.redis.del(this.recordKey(ticketHash));
  }

  async setRoute(desktop: string, target: UpstreamTarget): Promise<void> {
    const k = this.routeKey(desktop);
    const value = JSON.stringify({ host: target.host, port: target.port, password: sealPassword(target.password, this.key, k) });
    await this.redis.set(k, value, 'PX', this.routeTtlMs);
  }

  async route(desktop: string): Promise<UpstreamTarget | undefined> {
    const k = this.routeKey(desktop);
    const raw = await this.redis.get(k);
    if (raw === null) return undefined;
    const v = JSON.parse(raw) as Partial<Record<'host' | 'port' | 'password', unknown>>;
    if (typeof v.host !== 'string' || typeof v.port !== 'number' || typeof v.password !== 'string') throw new Error(`route ${k}: malformed`);
    return { host: v.host, port: v.port, password: openPassword(v.password, this.keys, k) };
  }

  async clearRoute(desktop: string): Promise<void> {
    await this.redis.del(this.routeKey(desktop));
  }

  private parse(ticketHash: string, k: string, h: Record<string, string>): TicketRecord {
    const { user, tenant, desktop, host, port, password, expiresAt, sessionId, groups, policy } = h;
    if (user === undefined || tenant === undefined || desktop === undefined || host === undefined || password === undefined) {
      throw new Error(`ticket record ${k}: fields missing`);
    }
    if (!/^\d+$/.test(port ?? '') || !/^\d+$/.test(expiresAt ?? '')) throw new Error(`ticket record ${k}: bad port or expiry`);
    const record: TicketRecord = {
      ticketHash,
      user,
      tenant,
      desktop,
      upstream: { host, port: Number(port), password: openPassword(password, this.keys, k) },
      expiresAt: Number(expiresAt),
    };
    if (groups !== undefined) {
      const list: unknown = JSON.parse(groups);
      if (!Array.isArray(list) || !list.every((g) => typeof g === 'string')) throw new Error(`ticket record ${k}: bad groups`);
      record.groups = list;
    }
    if (policy !== undefined) record.policy = policy;
    if (sessionId !== undefined) record.sessionId = Number(sessionId);
    return record;
  }
}
