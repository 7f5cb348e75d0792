/**
 * @deskplane/gateway — the SPICE gateway: answers every channel's link itself, checks the
 * console ticket, logs in to the guest with its real password and splices the channel.
 *
 * @example
 * ```ts
 * import { MemoryTicketStore, startGateway } from '@deskplane/gateway';
 *
 * const tickets = new MemoryTicketStore();
 * const gw = await startGateway({ listen: { host: '0.0.0.0', port: 5900 }, tickets });
 * const { ticket } = await tickets.mint({
 *   user: 'alice', tenant: 'acme', desktop: 'vd-1',
 *   upstream: { host: '10.0.0.7', port: 5901, password: guestPassword }, ttlMs: 60_000,
 * });
 * // remote-viewer spice://gateway:5900 with password = ticket
 * await gw.close();
 * ```
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { generateTicketKeyPair } from '@deskplane/spice-protocol';
import { CapsBook } from './caps-book';
import { createConnectServer, type ConnectListenerOptions } from './connect-server';
import { createLinkServer, type GatewayLog, type LinkServerDeps } from './link-server';
import { createWebSocketServer, type WebSocketListenerOptions } from './websocket-server';
import type { FrontTls } from './tls-front';
import type { LinkObserver } from './metrics';
import { BucketBook, type PolicySource } from './policy';
import { FailureLimiter, type FailureLimiterOptions } from './rate-limit';
import { SessionPolicies } from './session-policy';
import type { MigrationControl } from './admin/types';
import { SessionRouter } from './session-router';
import { SessionRegistry } from './sessions';
import type { TicketStore } from './tickets';

export * from './tickets';
export { FailureLimiter, type FailureLimiterOptions } from './rate-limit';
export { CapsBook, andWords, isSubset, type ChannelCaps } from './caps-book';
export type { GatewayLog } from './link-server';
export { SessionRegistry, type SessionInfo, type ChannelInfo, type SessionEnd, type ByteTotal } from './sessions';
export { channelName, channelTypeOf } from './channel-names';
export type { MigrationReadiness } from './session-router';
export type { MigrationControl } from './admin/types';
export { startAdminServer, GatewayAdminClient, type AdminServer } from './admin';
export { GatewayMetrics, startMetricsServer, type LinkObserver } from './metrics';
export { attachAudit, RedisAuditStream, auditStreamKey, parseAuditStreamEntry, AUDIT_STREAM_MAXLEN, type AuditLine } from './audit';
export { RedisTicketStore, ticketKeyFromEnv, TICKET_KEY_ENV } from './tickets-redis';
export { PresenceWriter, presenceKey, lastSessionEndKey, presenceHeartbeatKey, PRESENCE_REFRESH_MS, PRESENCE_TTL_MS, type PresenceWriterOptions } from './presence';
export { CapsProber, probeCaps, PROBED_CHANNEL_TYPES } from './caps-probe';
export { upstreamKey } from './caps-book';
export { buildVvFile, type VvFileOptions } from './vv-file';
export * from './policy';
export { parseConnectHead, MAX_CONNECT_HEAD, type ConnectHead } from './connect-head';
export type { ConnectListenerOptions } from './connect-server';
export { DEFAULT_WS_MAX_PAYLOAD, WS_UNSUPPORTED_DATA, type WebSocketListenerOptions } from './websocket-server';
export type { FrontTls } from './tls-front';

interface ListenAddress {
  host: string;
  port: number;
}

export interface GatewayOptions {
  /** SPICE over TCP; with `tls` a SPICE TLS port (TLS from the first byte, remote-viewer's tls-port). */
  listen: ListenAddress & { tls?: FrontTls };
  /** HTTP CONNECT front (remote-viewer `proxy=`); off unless set. With `tls`, CONNECT inside TLS. */
  httpConnect?: ConnectListenerOptions & { listen: ListenAddress };
  /** WebSocket front (browser clients); off unless set. With `tls`, wss. */
  websocket?: WebSocketListenerOptions & { listen: ListenAddress };
  tickets: TicketStore;
  log?: GatewayLog;
  /** Whole link phase per connection, upstream login included. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** Failed tickets per source address. Default 5 per minute. */
  failedTickets?: FailureLimiterOptions;
  /** Link body limit; default the codec's (4096, as spice-server). */
  maxLinkBodySize?: number;
  /** DesktopPolicy source; none = every session unrestricted. */
  policies?: PolicySource;
  /** Metrics hooks for link outcomes. */
  observer?: LinkObserver;
  /** How often idle and session-time limits are checked. Default 1 000 ms. */
  policyCheckMs?: number;
  /** Capabilities promised before the upstream is known; share it with a CapsProber (mint-time probe). */
  caps?: CapsBook;
}


export interface Gateway {
  port: number;
  /** Bound ports of the optional fronts. */
  connectPort?: number;
  websocketPort?: number;
  sessions: SessionRegistry;
  /** What the orchestrator drives (through the admin API) while it live-migrates a desktop. */
  migrations: { prepare: MigrationControl['prepare']; finish(r: { desktop: string; succeeded: boolean }): Promise<void> };
  /** Stops listening and closes every connection, linked or not. */
  close(): Promise<void>;
}

/** Listens, tracking every accepted socket so close() can cut them all. */
async function listen(server: Server | HttpServer, at: ListenAddress, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.log ?? (() => undefined);
  const keyPair = await generateTicketKeyPair();
  const sockets = new Set<Socket>();
  const sessions = new SessionRegistry();
  const router = new SessionRouter({ tickets: opts.tickets, log });
  const policies = new SessionPolicies({ source: opts.policies, book: new BucketBook(), registry: sessions, log, checkEveryMs: opts.policyCheckMs });
  sessions.on('closed', (end) => {
    router.ended(end.info.key);
    policies.release(end.info.key);
    log('session.closed', { session: end.info.key, reason: end.reason, desktop: end.info.desktop, user: end.info.user });
  });
  policies.start();
  const migrations: Gateway['migrations'] = {
    prepare: (r) => router.prepare(r),
    finish: async (r) => {
      await router.finish(r);
      for (const s of sessions.list({ desktop: r.desktop })) {
        const t = router.targetOf(s.key);
        sessions.update(s.key, { migrating: false, ...(t ? { upstream: `${t.host}:${t.port}` } : {}) });
      }
    },
  };
  const deps: LinkServerDeps = {
    tickets: opts.tickets,
    keyPair,
    caps: opts.caps ?? new CapsBook(),
    limiter: new FailureLimiter(opts.failedTickets),
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10_000,
    maxLinkBodySize: opts.maxLinkBodySize,
    log,
    sessions,
    router,
    policies,
    observer: opts.observer,
    displays: new Map(),
  };
  const servers: (Server | HttpServer)[] = [];
  const closeAll = (): Promise<void> =>
    new Promise<void>((resolve) => {
      policies.stop();
      for (const s of sessions.list()) sessions.kill(s.key, 'gateway stopping');
      for (const s of sockets) s.destroy();
      let left = servers.length;
      if (left === 0) resolve();
      for (const server of servers) server.close(() => --left === 0 && resolve());
    });
  // The factory runs inside the try: a bad certificate or key closes what already started.
  const start = async (make: () => Server | HttpServer, at: ListenAddress, name: string): Promise<number> => {
    try {
      const server = make();
      const port = await listen(server, at, sockets);
      servers.push(server);
      log('gateway.listening', { transport: name, host: at.host, port });
      return port;
    } catch (err) {
      await closeAll();
      throw err;
    }
  };
  const { listen: at, httpConnect: hc, websocket: ws } = opts;
  const port = await start(() => createLinkServer(deps, { tls: at.tls }), at, at.tls ? 'tls' : 'tcp');
  const connectPort = hc && (await start(() => createConnectServer(deps, hc), hc.listen, hc.tls ? 'connect-tls' : 'connect'));
  const websocketPort = ws && (await start(() => createWebSocketServer(deps, ws), ws.listen, ws.tls ? 'wss' : 'websocket'));
  return { port, connectPort, websocketPort, sessions, migrations, close: closeAll };
}
