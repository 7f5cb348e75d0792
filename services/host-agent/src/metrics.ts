import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ListenAddress } from './config';
import type { Resources } from './service/capacity';

const P = 'deskplane_host_agent_';

/** The agent's Prometheus metrics, in their own registry (no global state). */
export class HostAgentMetrics {
  readonly registry = new Registry();

  readonly rpcDuration = new Histogram({
    name: `${P}rpc_duration_seconds`,
    help: 'Duration of host agent RPCs (streams: until they end), by method and gRPC status code name.',
    labelNames: ['method', 'code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly guests = new Gauge({
    name: `${P}guests`,
    help: "Deskplane's guests on this host by state.",
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly capacityVcpus = this.gauge('capacity_vcpus', 'vCPUs this host can give guests (physical CPUs x overcommit).');
  readonly capacityMemory = this.gauge('capacity_memory_bytes', 'Memory this host can give guests (physical x overcommit - reserved).');
  readonly capacityDisk = this.gauge('capacity_disk_bytes', 'Size of the filesystem holding guest disks.');
  readonly allocatedVcpus = this.gauge('allocated_vcpus', "Sum of the guests' vCPUs (running or not).");
  readonly allocatedMemory = this.gauge('allocated_memory_bytes', "Sum of the guests' memory (running or not).");
  readonly allocatedDisk = this.gauge('allocated_disk_bytes', 'Bytes used on the filesystem holding guest disks.');
  readonly migrations = new Counter({
    name: `${P}migrations_total`,
    help: 'Outgoing migrations by result (succeeded, failed, aborted, error = could not start).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: `${P}events_total`,
    help: 'Domain lifecycle events recorded in the event log, by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  setResources(capacity: Resources, allocated: Resources): void {
    this.capacityVcpus.set(capacity.vcpus);
    this.capacityMemory.set(Number(capacity.memoryBytes));
    this.capacityDisk.set(Number(capacity.diskBytes));
    this.allocatedVcpus.set(allocated.vcpus);
    this.allocatedMemory.set(Number(allocated.memoryBytes));
    this.allocatedDisk.set(Number(allocated.diskBytes));
  }

  setGuestStates(counts: Record<string, number>): void {
    this.guests.reset();
    for (const [state, n] of Object.entries(counts)) this.guests.set({ state }, n);
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name: `${P}${name}`, help, registers: [this.registry] });
  }
}

export interface MetricsHooks {
  /** Brings the host gauges up to date before a scrape; a failure is served as stale values. */
  refresh(): Promise<void>;
  /** Whether libvirt answers; the reason when it does not. */
  health(): Promise<{ ok: true } | { ok: false; reason: string }>;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (Prometheus text) and GET /healthz (200 ok / 503 with the reason). */
export async function startMetricsServer(listen: ListenAddress, metrics: HostAgentMetrics, hooks: MetricsHooks): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'only GET\n');
    if (path === '/metrics') {
      void (async () => {
        await hooks.refresh().catch(() => undefined);
        reply(200, metrics.registry.contentType, await metrics.registry.metrics());
      })().catch((err: unknown) => reply(500, 'text/plain', `metrics failed: ${(err as Error).message}\n`));
      return;
    }
    if (path === '/healthz') {
      void hooks
        .health()
        .catch((err: unknown) => ({ ok: false as const, reason: (err as Error).message }))
        .then(h => (h.ok ? reply(200, 'text/plain', 'ok\n') : reply(503, 'text/plain', `unhealthy: ${h.reason}\n`)));
      return;
    }
    reply(404, 'text/plain', 'not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
