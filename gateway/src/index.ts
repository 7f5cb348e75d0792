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
import { FailureLimiter, type FailureLimiterOptions } from './rate-limit';
import type { TicketStore } from './tickets';

export * from './tickets';
export { FailureLimiter, type FailureLimiterOptions } from './rate-limit';
export { CapsBook, andWords, isSubset, type ChannelCaps } from './caps-book';
export type { GatewayLog } from './link-server';
export { parseConnectHead, MAX_CONNECT_HEAD, type ConnectHead } from './connect-head';
export type { ConnectListenerOptions } from './connect-server';
export { DEFAULT_WS_MAX_PAYLOAD, WS_UNSUPPORTED_DATA, type WebSocketListenerOptions } from './websocket-server';

interface ListenAddress {
  host: string;
  port: number;
}

export interface GatewayOptions {
  /** Plain SPICE over TCP. */
  listen: ListenAddress;
  /** HTTP CONNECT front (remote-viewer `proxy=`); off unless set. */
  httpConnect?: ConnectListenerOptions & { listen: ListenAddress };
  /** WebSocket front (browser clients); off unless set. */
  websocket?: WebSocketListenerOptions & { listen: ListenAddress };
  tickets: TicketStore;
  log?: GatewayLog;
  /** Whole link phase per connection, upstream login included. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** Failed tickets per source address. Default 5 per minute. */
  failedTickets?: FailureLimiterOptions;
  /** Link body limit; default the codec's (4096, as spice-server). */
  maxLinkBodySize?: number;
}

export interface Gateway {
  port: number;
  /** Bound ports of the optional fronts. */
  connectPort?: number;
  websocketPort?: number;
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
  const deps: LinkServerDeps = {
    tickets: opts.tickets,
    keyPair,
    caps: new CapsBook(),
    limiter: new FailureLimiter(opts.failedTickets),
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10_000,
    maxLinkBodySize: opts.maxLinkBodySize,
    log,
  };
  const servers: (Server | HttpServer)[] = [];
  const closeAll = (): Promise<void> =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      let left = servers.length;
      if (left === 0) resolve();
      for (const server of servers) server.close(() => --left === 0 && resolve());
    });
  const start = async (server: Server | HttpServer, at: ListenAddress, name: string): Promise<number> => {
    try {
      const port = await listen(server, at, sockets);
      servers.push(server);
      log('gateway.listening', { transport: name, host: at.host, port });
      return port;
    } catch (err) {
      await closeAll();
      throw err;
    }
  };
  const port = await start(createLinkServer(deps), opts.listen, 'tcp');
  const connectPort = opts.httpConnect && (await start(createConnectServer(deps, opts.httpConnect), opts.httpConnect.listen, 'connect'));
  const websocketPort = opts.websocket && (await start(createWebSocketServer(deps, opts.websocket), opts.websocket.listen, 'websocket'));
  return { port, connectPort, websocketPort, close: closeAll };
}
