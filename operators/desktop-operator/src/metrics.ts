import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReconcileOutcome } from './runtime/controller';

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
