/** The pools' numbers in the API's Prometheus registry: claims by outcome and time to console. */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ClaimOutcome, PoolMetricsSink } from './pools';

/**
 * Buckets from a warm hand-out (tens of ms) to a cold start under TCG (a minute or two),
 * the wait limit's default included.
 */
export const TIME_TO_CONSOLE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120, 180];

export class PoolMetrics implements PoolMetricsSink {
  readonly claims: Counter<'tenant' | 'pool' | 'result'>;
  readonly conflictRetries: Counter<'tenant' | 'pool'>;
  readonly timeToConsoleSeconds: Histogram<'tenant' | 'pool'>;

  constructor(registry: Registry) {
    this.claims = new Counter({
      name: 'deskplane_pool_claims_total',
      help: 'Pool claims by result: claimed, reclaimed (the user already held one), exhausted, forbidden, not_found, busy',
      labelNames: ['tenant', 'pool', 'result'],
      registers: [registry],
    });
    this.conflictRetries = new Counter({
      name: 'deskplane_pool_claim_conflict_retries_total',
      help: 'Pool claims that lost a desktop to a racing claim and tried the next one',
      labelNames: ['tenant', 'pool'],
      registers: [registry],
    });
    this.timeToConsoleSeconds = new Histogram({
      name: 'deskplane_pool_time_to_console_seconds',
      help: 'From a pool console request to its console answer (claim, start when cold, ticket)',
      labelNames: ['tenant', 'pool'],
      buckets: TIME_TO_CONSOLE_BUCKETS,
      registers: [registry],
    });
  }

  claim(tenant: string, pool: string, outcome: ClaimOutcome): void {
    this.claims.inc({ tenant, pool, result: outcome });
  }

  conflictRetry(tenant: string, pool: string): void {
    this.conflictRetries.inc({ tenant, pool });
  }

  timeToConsole(tenant: string, pool: string, seconds: number): void {
    this.timeToConsoleSeconds.observe({ tenant, pool }, seconds);
  }
}
