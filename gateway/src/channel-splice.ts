import type { Socket } from 'node:net';
import type { Duplex, Transform } from 'node:stream';
import { shapedPump, type TokenBucket } from './policy';

export interface SpliceOptions {
  /** Buckets for each direction, looked up per chunk so a changed policy applies at once. */
  toClientBuckets: () => readonly TokenBucket[];
  toGuestBuckets: () => readonly TokenBucket[];
  onBytes(toClient: number, toGuest: number): void;
  /** Rewrites/observes guest → client bytes (the main channel's message filter). */
  toClient?: Transform;
  /** Rewrites/holds client → guest bytes (the display channel's first-message guard). */
  toGuest?: Transform;
  /** How the upstream is closed (a display channel needs a safe close, see display-guard). */
  closeUpstream(upstream: Socket): void;
  onClose(reason: string): void;
}

export interface Splice {
  /** Ends the channel from the gateway's side (kill, timeout, policy). */
  close(reason: string): void;
}

/**
 * Splices a client stream and an upstream socket (both paused, link-phase listeners
 * removed) through optional transforms and the policy's token buckets, with backpressure
 * end to end: a slow or capped side pauses the other, nothing buffers without bound.
 * Either side closing or failing closes both; onClose runs once with the first reason.
 */
export function spliceChannel(client: Duplex, upstream: Socket, opts: SpliceOptions): Splice {
  let closed = false;
  // Bulk channels have no transform: the pump reads the socket itself (no extra copy or hop).
  const toClient: Duplex = opts.toClient ?? upstream;
  const toGuest: Duplex = opts.toGuest ?? client;
  const close = (reason: string): void => {
    if (closed) return;
    closed = true;
    toClientPump.stop();
    toGuestPump.stop();
    client.destroy();
    opts.toClient?.destroy();
    opts.toGuest?.destroy();
    opts.closeUpstream(upstream);
    opts.onClose(reason);
  };
  client.on('error', () => close('client error'));
  client.on('close', () => close('client closed'));
  // A FIN from either side ends the channel here, before a pump could pass the FIN on: the
  // upstream must only ever be closed through closeUpstream (a display channel's FIN before
  // it has DISPLAY_INIT crashes spice-server 0.15.1).
  client.on('end', () => close('client closed'));
  upstream.on('error', () => close('guest error'));
  upstream.on('close', () => close('guest closed'));
  upstream.on('end', () => close('guest closed'));
  opts.toClient?.on('error', (err) => close(`guest protocol: ${err.message}`));
  opts.toGuest?.on('error', (err) => close(`client protocol: ${err.message}`));
  if (opts.toClient) upstream.pipe(opts.toClient);
  if (opts.toGuest) client.pipe(opts.toGuest);
  const toClientPump = shapedPump(toClient, client, { buckets: opts.toClientBuckets, onBytes: (n) => opts.onBytes(n, 0) });
  const toGuestPump = shapedPump(toGuest, upstream, { buckets: opts.toGuestBuckets, onBytes: (n) => opts.onBytes(0, n) });
  return { close };
}
