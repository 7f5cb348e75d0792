export interface FailureLimiterOptions {
  /** Failures allowed per key within windowMs; the next link is refused. Default 5. */
  maxFailures?: number;
  /** Default 60 000 (one minute). */
  windowMs?: number;
  /** Keys tracked at most; the oldest is dropped beyond it, so memory stays bounded. Default 10 000. */
  maxKeys?: number;
  now?: () => number;
}

/**
 * Counts failed tickets per source address in a sliding window. Pure bookkeeping: the
 * link server asks `isBlocked` before decrypting anything and calls `recordFailure`.
 */
export class FailureLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly failures = new Map<string, number[]>();

  constructor(opts: FailureLimiterOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 5;
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxKeys = opts.maxKeys ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  isBlocked(key: string): boolean {
    return this.recent(key).length >= this.maxFailures;
  }

  recordFailure(key: string): void {
    const times = this.recent(key);
    times.push(this.now());
    this.failures.delete(key); // re-insert: Map order = least recently failed first
    this.failures.set(key, times.slice(-this.maxFailures));
    if (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /** Keys currently tracked (for tests and metrics). */
  get trackedKeys(): number {
    return this.failures.size;
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const times = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (times.length === 0) this.failures.delete(key);
    return times;
  }
}
