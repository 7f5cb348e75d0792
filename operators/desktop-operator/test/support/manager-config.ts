import type { ManagerConfig } from '../../src/manager';

/**
 * The operator settings every run on the shared testbed uses: only its own namespace and
 * its own KvmHosts (by label), a Lease of its own, fast heartbeats and retries. Shared by
 * the operator's and orchestrator's e2e suites and by bench/provision.
 */
export function testManagerConfig(o: {
  namespace: string;
  /** Selects this run's KvmHosts, e.g. { 'deskplane.io/e2e-run': run }. */
  hostSelector: Record<string, string>;
  run: string;
  identity: string;
  metrics?: ManagerConfig['metrics'];
}): ManagerConfig {
  return {
    watchNamespace: o.namespace,
    hostSelector: o.hostSelector,
    lease: { name: `deskplane-operator-${o.run}`, namespace: o.namespace, durationMs: 10_000, renewDeadlineMs: 7_000, retryPeriodMs: 500 },
    identity: o.identity,
    metrics: o.metrics,
    heartbeatIntervalMs: 1_000,
    heartbeatTimeoutMs: 3_000,
    heartbeatGraceMs: 40_000,
    unschedulableRetryMs: 5_000,
    resyncMs: 60_000,
    workers: 2,
    scheduler: { strategy: 'spread' },
    deprovisionPollMs: 500,
  };
}
