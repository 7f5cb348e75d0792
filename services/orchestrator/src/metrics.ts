import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const P = 'deskplane_orchestrator_';

/** The orchestrator's Prometheus metrics, in their own registry. */
export class OrchestratorMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({
    name: `${P}jobs_total`,
    help: 'Job attempts by queue, action and result (completed, skipped, retry, failed, delayed).',
    labelNames: ['queue', 'action', 'result'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: `${P}job_duration_seconds`,
    help: 'Duration of job attempts by queue, action and result.',
    labelNames: ['queue', 'action', 'result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly migrationsInFlight = new Gauge({
    name: `${P}migrations_in_flight`,
    help: 'Migrations holding a slot in this process.',
    registers: [this.registry],
  });

  readonly driftPasses = new Counter({
    name: `${P}drift_passes_total`,
    help: 'Drift repair passes by result (done, skipped: another replica ran it, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly driftActions = new Counter({
    name: `${P}drift_actions_total`,
    help: 'Drift repair actions by kind (reportOrphan, deleteOrphan, repairMissing) and result (done, skipped, failed).',
    labelNames: ['action', 'result'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** `/metrics` (Prometheus text) and `/healthz` (200 while `healthy()` says so, else 503). */
export async function startMetricsServer(metrics: OrchestratorMetrics, listen: { host: string; port: number }, healthy: () => { ok: boolean; detail: Record<string, unknown> }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    } else if (req.url === '/healthz') {
      const h = healthy();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: h.ok, ...h.detail }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, listen.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
