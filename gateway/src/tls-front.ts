import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { GatewayLog } from './link-server';

/** A front's server certificate (chain) and key, PEM contents. */
export interface FrontTls {
  cert: Buffer | string;
  key: Buffer | string;
}

/** The context options every front uses (a tls.Server takes these, not a built context). */
export function frontOptions(tls: FrontTls): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' };
}

/** Builds the context once per front: a bad certificate or key fails at start, not per client. */
export function frontContext(tls: FrontTls): SecureContext {
  return createSecureContext(frontOptions(tls));
}

const secured = new WeakSet<TLSSocket>();

/**
 * The server side of TLS on an accepted socket, returned at once so the caller's handshake
 * timer runs from the TCP accept: a client that stalls in the TLS handshake spends the same
 * budget as one that stalls in the SPICE link or the CONNECT head. A failed handshake
 * (plaintext on a TLS port, an unknown CA on the client side) is logged once, as `tls.failed`;
 * the socket then errors and closes like any other client error, so no plaintext byte is
 * ever read from it.
 */
export function acceptTls(raw: Socket, context: SecureContext, log: GatewayLog, transport: string): TLSSocket {
  const source = raw.remoteAddress ?? 'unknown';
  const socket = new TLSSocket(raw, { isServer: true, secureContext: context });
  socket.once('secure', () => secured.add(socket));
  socket.once('error', (err: Error & { code?: string }) => {
    if (!secured.has(socket)) log('tls.failed', { source, transport, code: err.code ?? 'unknown', why: err.message.split('\n')[0] });
  });
  return socket;
}

/** Has this socket finished its TLS handshake? (True for a plain socket.) */
export function handshakeDone(socket: Socket): boolean {
  return !(socket instanceof TLSSocket) || secured.has(socket);
}
