import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolCounts } from './controllers/desktop-pool/decide';
import type { ReconcileOutcome } from './runtime/controller';

/** The states `deskplane_pool_desktops` is broken down by. */
export const POOL_STATES = ['ready', 'claimed', 'starting', 'resetting', 'cold'] as const;

const P = 'deskplane_operator_';

/** The operator's Prometheus metrics, in their own registry (no global state). */
export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly depthSources = new Map<string, () => number>();

  readonly reconcileDuration = new Histogram({
    name: `${P}reconcile_duration_seconds`,
    help: 'Duration of reconcile attempts by controller and outcome (success, requeue, error, terminal).',
    labelNames: ['controller', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: `${P}reconcile_errors_total`,
    help: 'Reconcile attempts that threw (retried with backoff, or terminal), by controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly queueDepth: Gauge<'controller'>;
  readonly leader = new Gauge({
    name: `${P}leader`,
    help: '1 while this replica holds the leader lease and runs the reconcile loops, else 0.',
    registers: [this.registry],
  });

  readonly poolDesktops = new Gauge({
    name: 'deskplane_pool_desktops',
    help: "A pool's desktops by state: ready (unclaimed, console ready), claimed, starting (unclaimed, to run, not ready yet), resetting (recycled or being deleted), cold (unclaimed, defined, not started).",
    labelNames: ['namespace', 'pool', 'state'] as const,
    registers: [this.registry],
  });
  readonly taskRuns = new Counter({
    name: `${P}task_runs_total`,
    help: 'Passes of the periodic tasks (activity, consolidation, …) by task and outcome (success, error).',
    labelNames: ['task', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly taskDuration = new Histogram({
    name: `${P}task_duration_seconds`,
    help: 'Duration of one pass of a periodic task.',
    labelNames: ['task'] as const,
    buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120],
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const sources = this.depthSources;
    this.queueDepth = new Gauge({
      name: `${P}queue_depth`,
      help: 'Keys waiting in each controller work queue (not delayed, not in progress).',
      labelNames: ['controller'] as const,
      registers: [this.registry],
      collect() {
        for (const [controller, depth] of sources) this.set({ controller }, depth());
      },
    });
    this.leader.set(0);
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Reads a controller's queue depth at each scrape. */
  trackQueue(controller: string, depth: () => number): void {
    this.depthSources.set(controller, depth);
  }

  setPool(namespace: string, pool: string, counts: PoolCounts): void {
    for (const state of POOL_STATES) this.poolDesktops.set({ namespace, pool, state }, counts[state]);
  }

  /** A deleted pool's series go away instead of reporting its last counts forever. */
  forgetPool(namespace: string, pool: string): void {
    for (const state of POOL_STATES) this.poolDesktops.remove({ namespace, pool, state });
  }

  observeTask(task: string, outcome: 'success' | 'error', durationMs: number): void {
    this.taskRuns.inc({ task, outcome });
    this.taskDuration.observe({ task }, durationMs / 1000);
  }

  observe(e: { controller: string; outcome: ReconcileOutcome; durationMs: number }): void {
    this.reconcileDuration.observe({ controller: e.controller, outcome: e.outcome }, e.durationMs / 1000);
    if (e.outcome === 'error' || e.outcome === 'terminal') this.reconcileErrors.inc({ controller: e.controller });
  }
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** `/metrics` (Prometheus text) and `/healthz` (JSON from `health()`, 200 when ok). */
export async function startMetricsServer(
  listen: { host: string; port: number },
  metrics: OperatorMetrics,
  health: () => { ok: boolean; [k: string]: unknown },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500).end(String(err));
        },
      );
    } else if (path === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
