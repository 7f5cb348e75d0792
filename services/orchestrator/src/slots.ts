/**
 * Migration concurrency: at most `perHostOutbound` migrations out of one source host and
 * `global` in the whole installation (KubeVirt's defaults: 2 and 5). A counting semaphore
 * in Redis: one sorted set per scope, members are holder ids (the job id), scores are
 * lease expiry times in Redis' own clock. Acquiring takes both scopes atomically (one Lua
 * script) or neither; a holder renews its lease while it runs, so a worker killed mid-job
 * frees its slot by itself when the lease expires. Re-acquiring with the same holder id
 * (the job re-run after a crash) is idempotent.
 */
import type { Redis } from 'ioredis';

export interface SlotLimits {
  perHostOutbound: number;
  global: number;
}

export const DEFAULT_SLOT_LIMITS: SlotLimits = { perHostOutbound: 2, global: 5 };

export interface MigrationSlots {
  readonly limits: SlotLimits;
  /** Takes a slot on the source host and in the cluster; false when either is full. */
  acquire(holder: string, sourceHost: string): Promise<boolean>;
  /** Extends the lease; false when it had expired and could not be taken back. */
  renew(holder: string, sourceHost: string): Promise<boolean>;
  release(holder: string, sourceHost: string): Promise<void>;
  /** Holders per scope, for metrics and tests. */
  holders(sourceHost?: string): Promise<string[]>;
}

// KEYS: global set, host set. ARGV: holder, ttlMs, globalLimit, hostLimit. Acquire and renew are the same
// operation: a holder already in a set keeps its place; a newcomer (or an expired lease) needs a free slot.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = now + tonumber(ARGV[2])
local limits = { tonumber(ARGV[3]), tonumber(ARGV[4]) }
for i = 1, 2 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
for i = 1, 2 do
  if not redis.call('ZSCORE', KEYS[i], ARGV[1]) and redis.call('ZCARD', KEYS[i]) >= limits[i] then return 0 end
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], exp, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2]) * 2)
end
return 1
`;

export interface SlotKeys {
  global: string;
  host: string;
}

/** Pure: the keys of the two scopes for a source host. */
export function slotKeys(prefix: string, sourceHost: string): SlotKeys {
  return { global: `${prefix}:orchestrator:migration-slots:global`, host: `${prefix}:orchestrator:migration-slots:host:${sourceHost}` };
}

/** Pure: the script's arguments. */
export function acquireArgs(holder: string, ttlMs: number, limits: SlotLimits): string[] {
  return [holder, String(ttlMs), String(limits.global), String(limits.perHostOutbound)];
}

export class RedisMigrationSlots implements MigrationSlots {
  constructor(
    private readonly redis: Redis,
    readonly limits: SlotLimits = DEFAULT_SLOT_LIMITS,
    private readonly o: { prefix?: string; ttlMs?: number } = {},
  ) {}

  private get ttlMs(): number {
    return this.o.ttlMs ?? 30_000;
  }

  private run(holder: string, host: string): Promise<boolean> {
    const k = slotKeys(this.o.prefix ?? 'deskplane', host);
    return this.redis.eval(ACQUIRE, 2, k.global, k.host, ...acquireArgs(holder, this.ttlMs, this.limits)).then((r) => r === 1);
  }

  acquire(holder: string, sourceHost: string): Promise<boolean> {
    return this.run(holder, sourceHost);
  }

  renew(holder: string, sourceHost: string): Promise<boolean> {
    return this.run(holder, sourceHost);
  }

  async release(holder: string, sourceHost: string): Promise<void> {
    const k = slotKeys(this.o.prefix ?? 'deskplane', sourceHost);
    await this.redis.multi().zrem(k.global, holder).zrem(k.host, holder).exec();
  }

  async holders(sourceHost?: string): Promise<string[]> {
    const k = slotKeys(this.o.prefix ?? 'deskplane', sourceHost ?? '');
    const now = Date.now();
    return this.redis.zrangebyscore(sourceHost ? k.host : k.global, now, '+inf');
  }
}
