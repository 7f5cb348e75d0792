import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { LinkError, ServerLinkDecoder } from '@deskplane/spice-protocol';
import { clientLinkMessage, ticketAnswer } from '@deskplane/testbed';
import { HOST } from './qemu';


/**
 * probeSpiceLink on an already-open stream (a CONNECT tunnel, a WebSocket stream): link
 * message → reply → mechanism → ticket → result. Resolves with the link result (or the
 * reply's error); rejects if the stream closes or stays silent first. Destroys the stream.
 */
export function linkOverStream(
  stream: Duplex,
  ticket: string,
  opts: { initial?: Buffer; linkAlreadySent?: boolean; timeoutMs?: number } = {},
): Promise<number> {
  const decoder = new ServerLinkDecoder();
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: number | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      if (typeof outcome === 'number') resolve(outcome);
      else reject(outcome);
    };
    const timer = setTimeout(() => finish(new Error(`no link answer (${decoder.currentState})`)), opts.timeoutMs ?? 5_000);
    const onData = (chunk: Buffer): void => {
      try {
        for (const msg of decoder.feed(chunk)) {
          if (msg.kind === 'linkResult') return finish(msg.result);
          if (msg.error !== LinkError.OK) return finish(msg.error);
          for (const b of ticketAnswer(msg, ticket)) stream.write(b);
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    stream.on('data', onData);
    stream.on('error', (err: Error) => finish(err));
    stream.on('close', () => finish(new Error(`closed during the link (${decoder.currentState})`)));
    if (!opts.linkAlreadySent) stream.write(clientLinkMessage());
    if (opts.initial !== undefined && opts.initial.length > 0) onData(opts.initial);
    stream.resume(); // httpConnect hands the socket over paused
  });
}

/**
 * A TCP connection to the gateway, or with `tls` a TLS one (an https-style proxy port); `ready`
 * runs once the client may write (after the TLS handshake).
 */
function dial(port: number, tls: ConnectionOptions | undefined, ready: () => void): Socket {
  if (tls === undefined) return connect({ host: HOST, port }, ready);
  return connectTls({ host: HOST, port, ...tls }, ready);
}

/** Sends `head` (+ optional pipelined bytes) and reads the HTTP response head; the socket stays open. */
export function httpConnect(port: number, head: string, pipelined?: Buffer, tls?: ConnectionOptions): Promise<{ status: number; socket: Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = dial(port, tls, () => socket.write(pipelined === undefined ? head : Buffer.concat([Buffer.from(head, 'latin1'), pipelined])));
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('no HTTP response head')), 5_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', fail);
      socket.removeListener('close', onClose);
      socket.pause();
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(got.subarray(0, end).toString('latin1'));
      if (m === null) return fail(new Error(`bad status line: ${JSON.stringify(got.subarray(0, end).toString('latin1'))}`));
      resolve({ status: Number(m[1]), socket, rest: got.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', fail);
    const onClose = (): void => fail(new Error(`closed before a response head: ${JSON.stringify(got.toString('latin1'))}`));
    socket.on('close', onClose);
  });
}

/** Sends raw bytes, reads the response until the server closes: for refusals. */
export function httpRefusal(port: number, bytes: string, tls?: ConnectionOptions): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = dial(port, tls, () => socket.write(Buffer.from(bytes, 'latin1')));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('server did not close'));
    }, 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      resolve({ status: m === null ? 0 : Number(m[1]), text });
    });
  });
}
