import { createServer, type Server, type Socket } from 'node:net';
import { parseConnectHead } from './connect-head';
import { handleClient, type LinkServerDeps } from './link-server';

export interface ConnectListenerOptions {
  /**
   * The CONNECT targets accepted, as `host:port` (what the .vv file's host/port say; the
   * gateway ignores them for routing — the ticket routes — but refuses others with 403).
   * Hosts compare case-insensitively; IPv6 as `[::1]:5900`.
   */
  allowedTargets: string[];
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 405: 'Method Not Allowed', 408: 'Request Timeout' };

/** `host:port` as the parser reports it, for matching against the allow-list. */
export function targetKey(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase();
}

/**
 * An HTTP CONNECT front (remote-viewer's `proxy=`): reads one request head within the
 * handshake budget, answers 200 for an allowed target, then runs the normal link
 * termination on the tunnelled stream with the budget that is left.
 */
export function createConnectServer(deps: LinkServerDeps, opts: ConnectListenerOptions): Server {
  const allowed = new Set(opts.allowedTargets.map((t) => t.toLowerCase()));
  return createServer((socket) => {
    socket.setNoDelay(true);
    handleConnect(socket, deps, allowed);
  });
}

function handleConnect(socket: Socket, deps: LinkServerDeps, allowed: Set<string>): void {
  const source = socket.remoteAddress ?? 'unknown';
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
    deps.log('connect.refused', { source, status, why });
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
    deps.log('connect.tunnel', { source, target });
    const timeoutMs = Math.max(1, deps.handshakeTimeoutMs - (Date.now() - started));
    handleClient(socket, deps, { source, transport: 'connect', timeoutMs });
    socket.resume(); // explicitly paused above: a new 'data' listener alone would not restart it
  }

  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    if (!done) stop();
  });
}
