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
import type { AddressInfo, Socket } from 'node:net';
import { generateTicketKeyPair } from '@deskplane/spice-protocol';
import { CapsBook } from './caps-book';
import { createLinkServer, type GatewayLog } from './link-server';
import { FailureLimiter, type FailureLimiterOptions } from './rate-limit';
import type { TicketStore } from './tickets';

export * from './tickets';
export { FailureLimiter, type FailureLimiterOptions } from './rate-limit';
export { CapsBook, andWords, isSubset, type ChannelCaps } from './caps-book';
export type { GatewayLog } from './link-server';

export interface GatewayOptions {
  listen: { host: string; port: number };
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
  /** Stops listening and closes every connection, linked or not. */
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.log ?? (() => undefined);
  const keyPair = await generateTicketKeyPair();
  const sockets = new Set<Socket>();
  const server = createLinkServer({
    tickets: opts.tickets,
    keyPair,
    caps: new CapsBook(),
    limiter: new FailureLimiter(opts.failedTickets),
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10_000,
    maxLinkBodySize: opts.maxLinkBodySize,
    log,
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  log('gateway.listening', { host: opts.listen.host, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
