import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type RawData, type WebSocket } from 'ws';
import { handleClient, type LinkServerDeps } from './link-server';
import { frontOptions, type FrontTls } from './tls-front';

export interface WebSocketListenerOptions {
  /** Only upgrades on this path (default: any path). */
  path?: string;
  /** If set, the Origin header must be one of these (else 403). Unset: any origin, or none. */
  allowedOrigins?: string[];
  /** Largest WebSocket message accepted; bigger ones close the socket with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Serve https / wss (transport `wss`); the TLS handshake must finish within the handshake timeout. */
  tls?: FrontTls;
}

export const DEFAULT_WS_MAX_PAYLOAD = 1024 * 1024;
/** Close code for a text frame: SPICE over WebSocket is binary only. */
export const WS_UNSUPPORTED_DATA = 1003;

/**
 * The WebSocket as a byte stream, binary frames only. A text frame closes the socket with
 * 1003 and its bytes never reach the stream (so never the link decoder or the guest). The
 * stream is destroyed once the WebSocket is closed, so consumers see 'close'.
 */
export function binaryWebSocketStream(ws: WebSocket): Duplex {
  const stream = createWebSocketStream(ws);
  // createWebSocketStream pushes every message, text included: put a filter in front of it.
  const pushers = ws.listeners('message') as ((data: RawData, isBinary: boolean) => void)[];
  if (pushers.length !== 1) throw new Error(`expected one message listener from createWebSocketStream, got ${pushers.length}`);
  const push = pushers[0]!;
  ws.removeListener('message', push);
  let refused = false;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (refused) return;
    if (isBinary) return push(data, true);
    refused = true;
    ws.close(WS_UNSUPPORTED_DATA, 'binary frames only');
  });
  ws.once('close', () => stream.destroy());
  return stream;
}

/**
 * A WebSocket front (browser clients; spice-html5 opens one WebSocket per channel): every
 * connection runs the normal link termination on its binary stream. Non-upgrade requests
 * get 426.
 */
export function createWebSocketServer(deps: LinkServerDeps, opts: WebSocketListenerOptions = {}): Server | HttpsServer {
  const transport = opts.tls ? 'wss' : 'websocket';
  const notUpgrade = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(426, { Connection: 'close', 'Content-Length': '0' });
    res.end();
  };
  let server: Server | HttpsServer;
  if (opts.tls) {
    const https = createHttpsServer({ ...frontOptions(opts.tls), handshakeTimeout: deps.handshakeTimeoutMs }, notUpgrade);
    https.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      deps.log('tls.failed', { source: socket.remoteAddress ?? 'unknown', transport, code: err.code ?? 'unknown', why: err.message.split('\n')[0] });
    });
    server = https;
  } else {
    server = createServer(notUpgrade);
  }
  const origins = opts.allowedOrigins === undefined ? undefined : new Set(opts.allowedOrigins);
  const wss = new WebSocketServer({
    server,
    path: opts.path,
    maxPayload: opts.maxPayload ?? DEFAULT_WS_MAX_PAYLOAD,
    perMessageDeflate: false,
    verifyClient: (info: { origin?: string }, done: (ok: boolean, code?: number) => void) => {
      const ok = origins === undefined || (info.origin !== undefined && origins.has(info.origin));
      if (!ok) deps.log('websocket.refused', { transport, status: 403, why: 'origin not allowed' });
      done(ok, 403);
    },
  });
  wss.on('error', () => undefined); // re-emitted listen errors: startGateway reports them from the server
  wss.on('connection', (ws, req) => {
    const stream = binaryWebSocketStream(ws);
    handleClient(stream, deps, { source: req.socket.remoteAddress ?? 'unknown', transport });
  });
  server.on('close', () => wss.close());
  return server;
}
