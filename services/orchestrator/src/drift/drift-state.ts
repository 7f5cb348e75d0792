/**
 * What drift repair keeps between passes, in Redis (the only file of drift/ that sees it):
 *
 * - a pass lock (`<prefix>:orchestrator:drift:lock`, SET NX PX): with several replicas one
 *   pass runs at a time; the others skip that tick;
 * - the first-seen times of orphan guests (hash `<prefix>:orchestrator:drift:orphans`,
 *   field `<host>/<uid>`, value ms since the epoch): they survive an orchestrator restart
 *   and a change of the replica that runs the pass, so the grace period is counted once.
 */
import type { Redis } from 'ioredis';

export interface DriftState {
  /** True when this holder may run a pass now (the lock expires by itself after ttlMs). */
  tryLock(holder: string, ttlMs: number): Promise<boolean>;
  unlock(holder: string): Promise<void>;
  sightings(): Promise<Map<string, number>>;
  /** Writes `next`, removing the keys of `prev` it no longer has. */
  saveSightings(next: ReadonlyMap<string, number>, prev: ReadonlyMap<string, number>): Promise<void>;
}

const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export function driftKeys(prefix: string): { lock: string; orphans: string } {
  return { lock: `${prefix}:orchestrator:drift:lock`, orphans: `${prefix}:orchestrator:drift:orphans` };
}

export class RedisDriftState implements DriftState {
  private readonly keys: { lock: string; orphans: string };

  constructor(
    private readonly redis: Redis,
    prefix = 'deskplane',
  ) {
    this.keys = driftKeys(prefix);
  }

  async tryLock(holder: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.lock, holder, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(holder: string): Promise<void> {
    await this.redis.eval(UNLOCK, 1, this.keys.lock, holder);
  }

  async sightings(): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.keys.orphans);
    return new Map(Object.entries(raw).map(([k, v]) => [k, Number(v)] as const).filter(([, v]) => Number.isFinite(v)));
  }

  async saveSightings(next: ReadonlyMap<string, number>, prev: ReadonlyMap<string, number>): Promise<void> {
    const gone = [...prev.keys()].filter((k) => !next.has(k));
    const changed = [...next].filter(([k, v]) => prev.get(k) !== v);
    if (!gone.length && !changed.length) return;
    const m = this.redis.multi();
    if (gone.length) m.hdel(this.keys.orphans, ...gone);
    if (changed.length) m.hset(this.keys.orphans, Object.fromEntries(changed.map(([k, v]) => [k, String(v)])));
    await m.exec();
  }
}

/** In memory, for tests and single-process runs without Redis. */
export class MemoryDriftState implements DriftState {
  private lock: { holder: string; until: number } | undefined;
  private map = new Map<string, number>();

  tryLock(holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (this.lock && this.lock.until > now && this.lock.holder !== holder) return Promise.resolve(false);
    this.lock = { holder, until: now + ttlMs };
    return Promise.resolve(true);
  }

  unlock(holder: string): Promise<void> {
    if (this.lock?.holder === holder) this.lock = undefined;
    return Promise.resolve();
  }

  sightings(): Promise<Map<string, number>> {
    return Promise.resolve(new Map(this.map));
  }

  saveSightings(next: ReadonlyMap<string, number>): Promise<void> {
    this.map = new Map(next);
    return Promise.resolve();
  }
}
