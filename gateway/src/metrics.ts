import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LinkError } from '@deskplane/spice-protocol';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { channelName } from './channel-names';
import type { ListenAddress } from './config';
import type { ByteTotal, SessionInfo } from './sessions';

/** What the link server reports about each link, for metrics. */
export interface LinkObserver {
  /** A link refused with `error` (a SPICE link error); `why` is the link.refused log reason. */
  refused(f: { transport: string; channelType?: number; error: number; why: string }): void;
  /** A channel linked upstream and spliced; handshakeMs from the client's first byte. */
  spliced(f: { transport: string; channelType: number; handshakeMs: number }): void;
  /** A session followed its desktop to another host. */
  migrated(f: { path: 'seamless' | 'fallback' }): void;
}

export type AuthFailureReason = 'ticket' | 'binding' | 'rate_limit' | 'policy' | 'other';

/**
 * Pure: whether a refusal is an authentication / authorization failure, and which kind.
 * Protocol errors (bad magic, version, sizes) and upstream failures are not: they are
 * counted in links_total only. Keyed on the link server's `why` texts, then the error.
 */
export function classifyRefusal(error: number, why: string): AuthFailureReason | undefined {
  const w = why.toLowerCase();
  if (w.startsWith('upstream') || w.startsWith('internal')) return undefined;
  if (w.includes('too many failed') || w.includes('rate limit')) return 'rate_limit';
  if (w.startsWith('policy')) return 'policy';
  if (error === LinkError.BAD_CONNECTION_ID || w.includes('bound') || w.includes('session')) return 'binding';
  if (w.includes('ticket')) return 'ticket';
  if (error === LinkError.PERMISSION_DENIED || error === LinkError.CHANNEL_NOT_AVAILABLE) return 'other';
  return undefined;
}

const ERROR_NAMES = new Map<number, string>(Object.entries(LinkError).map(([name, code]) => [code, name.toLowerCase()]));
const resultName = (error: number): string => ERROR_NAMES.get(error) ?? `error_${error}`;

/** What metrics read from the session registry at scrape time. */
export interface SessionSource {
  list(filter?: object): SessionInfo[];
  byteTotals(): ByteTotal[];
}

const P = 'deskplane_gateway_';

/**
 * The gateway's Prometheus metrics, in their own registry (no global state). Session and
 * byte figures are read from the registry at scrape; link outcomes arrive through the
 * LinkObserver methods.
 */
export class GatewayMetrics implements LinkObserver {
  readonly registry = new Registry();
  private sessions?: SessionSource;
  private readonly seenTenants = new Set<string>();
  private readonly countedBytes = new Map<string, number>();

  readonly sessionsGauge = new Gauge({
    name: `${P}sessions`,
    help: 'Live SPICE sessions through this gateway, by tenant.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
    collect: () => this.collectSessions(),
  });
  readonly bytes = new Counter({
    name: `${P}bytes_total`,
    help: 'Bytes spliced, by tenant, SPICE channel type and direction (to_client, to_guest).',
    labelNames: ['tenant', 'channel', 'direction'] as const,
    registers: [this.registry],
    collect: () => this.collectBytes(),
  });
  readonly authFailures = new Counter({
    name: `${P}auth_failures_total`,
    help: 'Links refused for who the client is: ticket (unknown or expired), binding (wrong session), rate_limit, policy, other.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly links = new Counter({
    name: `${P}links_total`,
    help: 'Channel links by SPICE channel type and result (ok, or the link error sent: permission_denied, invalid_magic, …).',
    labelNames: ['channel', 'result'] as const,
    registers: [this.registry],
  });
  readonly handshake = new Histogram({
    name: `${P}handshake_seconds`,
    help: "Time from a client's first byte to its channel being spliced (the upstream login included), by transport and channel type.",
    labelNames: ['transport', 'channel'] as const,
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly migrations = new Counter({
    name: `${P}migrations_total`,
    help: 'Sessions that followed a live migration, by path (seamless, fallback = SWITCH_HOST reconnect).',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  readonly adminCalls = new Counter({
    name: `${P}admin_calls_total`,
    help: 'Admin API calls by method and gRPC status code name.',
    labelNames: ['method', 'code'] as const,
    registers: [this.registry],
  });

  constructor(opts: { sessions?: SessionSource; defaultMetrics?: boolean } = {}) {
    this.sessions = opts.sessions;
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where sessions and byte totals are read at scrape (when not given to the constructor). */
  readFrom(sessions: SessionSource): void {
    this.sessions = sessions;
  }

  refused(f: { transport: string; channelType?: number; error: number; why: string }): void {
    const channel = f.channelType === undefined ? 'unknown' : channelName(f.channelType);
    this.links.inc({ channel, result: resultName(f.error) });
    const reason = classifyRefusal(f.error, f.why);
    if (reason) this.authFailures.inc({ reason });
  }

  spliced(f: { transport: string; channelType: number; handshakeMs: number }): void {
    const channel = channelName(f.channelType);
    this.links.inc({ channel, result: 'ok' });
    this.handshake.observe({ transport: f.transport, channel }, f.handshakeMs / 1_000);
  }

  migrated(f: { path: 'seamless' | 'fallback' }): void {
    this.migrations.inc({ path: f.path });
  }

  private collectSessions(): void {
    if (!this.sessions) return;
    const counts = new Map<string, number>();
    for (const s of this.sessions.list()) counts.set(s.tenant, (counts.get(s.tenant) ?? 0) + 1);
    // A tenant whose last session ended reads 0 rather than vanishing (a vanished series looks like a scrape gap).
    for (const t of counts.keys()) this.seenTenants.add(t);
    for (const t of this.seenTenants) this.sessionsGauge.set({ tenant: t }, counts.get(t) ?? 0);
  }

  /** The registry's totals are monotonic: add what grew since the last scrape. */
  private collectBytes(): void {
    if (!this.sessions) return;
    for (const t of this.sessions.byteTotals()) {
      for (const [direction, total] of [['to_client', t.toClient], ['to_guest', t.toGuest]] as const) {
        const k = `${t.tenant}\u0000${t.channel}\u0000${direction}`;
        const grew = total - (this.countedBytes.get(k) ?? 0);
        if (grew <= 0 && this.countedBytes.has(k)) continue;
        this.bytes.inc({ tenant: t.tenant, channel: t.channel, direction }, Math.max(0, grew));
        this.countedBytes.set(k, total);
      }
    }
  }
}

export type Health = { ok: true } | { ok: false; reason: string };

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * GET /metrics (Prometheus text), /healthz (the process serves: liveness) and /readyz
 * (`ready()`: listening, stores reachable, not stopping — a load balancer's signal).
 */
export async function startMetricsServer(listen: ListenAddress, metrics: GatewayMetrics, hooks: { ready(): Promise<Health> }): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const reply = (code: number, type: string, body: string): void => void res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'only GET\n');
    if (path === '/healthz') return reply(200, 'text/plain', 'ok\n');
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => reply(200, metrics.registry.contentType, text),
        (err: Error) => reply(500, 'text/plain', `metrics failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/readyz') {
      hooks
        .ready()
        .catch((err: Error): Health => ({ ok: false, reason: err.message }))
        .then((h) => (h.ok ? reply(200, 'text/plain', 'ready\n') : reply(503, 'text/plain', `not ready: ${h.reason}\n`)))
        .catch(() => undefined);
      return;
    }
    reply(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
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
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
