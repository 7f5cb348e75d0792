import { createServer, type Server, type Socket } from 'node:net';
import { parseConnectHead } from './connect-head';
import { handleClient, type LinkServerDeps } from './link-server';
import { acceptTls, frontContext, handshakeDone, type FrontTls } from './tls-front';

export interface ConnectListenerOptions {
  /**
   * The CONNECT targets accepted, as `host:port` (what the .vv file's host/port say; the
   * gateway ignores them for routing — the ticket routes — but refuses others with 403).
   * Hosts compare case-insensitively; IPv6 as `[::1]:5900`.
   */
  allowedTargets: string[];
  /**
   * An https-style proxy port: the client speaks TLS to the proxy first and sends CONNECT
   * inside it (transport `connect-tls`). The SPICE link in the tunnel is not TLS again.
   */
  tls?: FrontTls;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 405: 'Method Not Allowed', 408: 'Request Timeout' };

/** `host:port` as the parser reports it, for matching against the allow-list. */
export function targetKey(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase();
}

/**
 * An HTTP CONNECT front (remote-viewer's `proxy=`): reads one request head within the
 * handshake budget (the TLS handshake included, with `tls`), answers 200 for an allowed
 * target, then runs the normal link termination on the tunnelled stream with the budget
 * that is left.
 */
export function createConnectServer(deps: LinkServerDeps, opts: ConnectListenerOptions): Server {
  const allowed = new Set(opts.allowedTargets.map((t) => t.toLowerCase()));
  const context = opts.tls && frontContext(opts.tls);
  return createServer((socket) => {
    socket.setNoDelay(true);
    const source = socket.remoteAddress ?? 'unknown';
    if (context === undefined) return handleConnect(socket, deps, allowed, source, 'connect');
    handleConnect(acceptTls(socket, context, deps.log, 'connect-tls'), deps, allowed, source, 'connect-tls');
  });
}

function handleConnect(socket: Socket, deps: LinkServerDeps, allowed: Set<string>, source: string, transport: string): void {
  const started = Date.now();
  let received = Buffer.alloc(0);
  let done = false;

  const stop = (): void => {
    done = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
  };
  const refuse = (status: number, why: string): void => {
    if (done) return;
    stop();
    deps.log('connect.refused', { source, transport, status, why });
    // No TLS session yet, so no channel to answer on: just cut it.
    if (!handshakeDone(socket)) return void socket.destroy();
    // End, keep draining, and let the client's FIN close it: destroying with unread input would send RST.
    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.resume();
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
  const timer = setTimeout(() => refuse(408, 'request head timeout'), deps.handshakeTimeoutMs);

  function onData(chunk: Buffer): void {
    received = Buffer.concat([received, chunk]);
    const head = parseConnectHead(received);
    if (head.kind === 'incomplete') return;
    if (head.kind === 'error') return refuse(head.status, head.reason);
    const target = targetKey(head.host, head.port);
    if (!allowed.has(target)) return refuse(403, 'target not allowed');
    stop();
    socket.pause();
    socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    // Bytes after the head are the client's first SPICE bytes: give them back to the stream.
    const rest = received.subarray(head.headLength);
    if (rest.length > 0) socket.unshift(rest);
    deps.log('connect.tunnel', { source, transport, target });
    const timeoutMs = Math.max(1, deps.handshakeTimeoutMs - (Date.now() - started));
    handleClient(socket, deps, { source, transport, timeoutMs });
    socket.resume(); // explicitly paused above: a new 'data' listener alone would not restart it
  }

  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    if (!done) stop();
  });
}
