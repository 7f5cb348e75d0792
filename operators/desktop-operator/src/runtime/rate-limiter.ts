/**
 * How long a key waits before its next retry: the larger of a per-key exponential
 * backoff (one key failing over and over backs off alone) and a global token bucket (a
 * storm of failures across many keys cannot hammer the API or the hosts).
 * Same shape as client-go's default controller rate limiter.
 */
export interface RateLimiterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Token bucket: sustained retries per second across all keys, and the burst allowed. */
  qps: number;
  burst: number;
}

export const DEFAULT_RATE_LIMITER: RateLimiterOptions = { baseDelayMs: 5, maxDelayMs: 300_000, qps: 10, burst: 100 };

export class RateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private lastRefill: number;

  constructor(
    private readonly opts: RateLimiterOptions = DEFAULT_RATE_LIMITER,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = opts.burst;
    this.lastRefill = now();
  }

  /** Delay before retrying key; counts one more failure for it. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const backoff = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(n, 40));
    return Math.max(backoff, this.bucketDelay());
  }

  /** Retries so far for key (0 after forget). */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The key succeeded: its next failure starts from the base delay again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  private bucketDelay(): number {
    const t = this.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((t - this.lastRefill) / 1000) * this.opts.qps);
    this.lastRefill = t;
    this.tokens -= 1; // reserve a token, possibly going into debt: later callers wait longer
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.opts.qps) * 1000);
  }
}
