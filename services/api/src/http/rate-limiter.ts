import { TooManyRequests } from '../domain/errors';

export interface RateLimiterOptions {
  /** Bucket size: how many requests a key may make in a burst. */
  capacity: number;
  /** Tokens added back per second. */
  refillPerSecond: number;
  /** Keys tracked at most; the least recently used is dropped beyond it, so memory stays bounded. Default 10 000. */
  maxKeys?: number;
  now?: () => number;
}

export type Take = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/**
 * An in-memory token bucket per key (client IP, user name, ...), for one API replica.
 * `take` spends tokens; `check` only looks, for limits that charge failures alone (a
 * login is refused while the user's bucket is empty, and only a wrong password spends).
 *
 * @example
 * const consoles = RateLimiter.perMinute(10);
 * consoles.enforce(`user:${caller.tenant}/${caller.user}`, 'too many console requests'); // throws TooManyRequests (429 + Retry-After)
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(private readonly opts: RateLimiterOptions) {
    if (!(opts.capacity >= 1) || !(opts.refillPerSecond > 0)) throw new RangeError('RateLimiter needs capacity ≥ 1 and refillPerSecond > 0');
    this.maxKeys = opts.maxKeys ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** `n` requests per minute, all of them allowed at once. */
  static perMinute(n: number, opts: Omit<RateLimiterOptions, 'capacity' | 'refillPerSecond'> = {}): RateLimiter {
    return new RateLimiter({ ...opts, capacity: n, refillPerSecond: n / 60 });
  }

  take(key: string, cost = 1): Take {
    const result = this.check(key, cost);
    if (result.ok) {
      const tokens = this.level(key) - cost;
      this.buckets.delete(key); // re-insert: Map order = least recently used first
      this.buckets.set(key, { tokens, at: this.now() });
      this.evict();
      return { ok: true, remaining: Math.floor(tokens) };
    }
    return result;
  }

  check(key: string, cost = 1): Take {
    const tokens = this.level(key);
    if (tokens >= cost) return { ok: true, remaining: Math.floor(tokens - cost) };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / this.opts.refillPerSecond)) };
  }

  /** `take`, throwing TooManyRequests (429 with Retry-After) when the key is out of tokens. */
  enforce(key: string, message: string, cost = 1): void {
    const r = this.take(key, cost);
    if (!r.ok) throw new TooManyRequests(`${message}; retry in ${r.retryAfterSeconds} s`, r.retryAfterSeconds);
  }

  /** Like `enforce` but spends nothing. */
  enforceCheck(key: string, message: string, cost = 1): void {
    const r = this.check(key, cost);
    if (!r.ok) throw new TooManyRequests(`${message}; retry in ${r.retryAfterSeconds} s`, r.retryAfterSeconds);
  }

  /** Keys currently tracked. */
  get trackedKeys(): number {
    return this.buckets.size;
  }

  private level(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return this.opts.capacity;
    const tokens = Math.min(this.opts.capacity, b.tokens + ((this.now() - b.at) / 1000) * this.opts.refillPerSecond);
    // A full bucket is the same as none: forget it so idle keys cost no memory.
    if (tokens >= this.opts.capacity) this.buckets.delete(key);
    return tokens;
  }

  private evict(): void {
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) return;
      this.buckets.delete(oldest);
    }
  }
}
