/**
 * The bench's SPICE client side: links channels the way remote-viewer does (the testbed
 * probe's link steps), opens sessions (main, then display with the MAIN_INIT session id)
 * and drives the display channel for bulk receive and request/echo.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  ChannelType,
  DisplayClientMessage,
  LinkError,
  MainServerMessage,
  MiniFrameDecoder,
  MiniFrameScanner,
  ServerLinkDecoder,
  decodeMainInit,
  encodeDisplayInitFrame,
  encodeMiniFrame,
} from '@deskplane/spice-protocol';
import { clientLinkMessage, ticketAnswer } from '@deskplane/testbed';

export const HOST = '127.0.0.1';

export interface Linked {
  socket: Socket;
  /** Channel-phase bytes that came with the link result. */
  remainder: Buffer;
}

/** Links one channel; rejects on a refusal, a close or silence past timeoutMs. The socket is left paused. */
export function linkChannel(port: number, password: string, channelType: number, connectionId: number, timeoutMs = 15_000): Promise<Linked> {
  const decoder = new ServerLinkDecoder();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`link ${channelType} via :${port}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no link result within ${timeoutMs} ms (${decoder.currentState})`), timeoutMs);
    const onData = (chunk: Buffer): void => {
      try {
        for (const msg of decoder.feed(chunk)) {
          if (msg.kind === 'linkReply') {
            if (msg.error !== LinkError.OK) return fail(`link reply error ${msg.error}`);
            for (const b of ticketAnswer(msg, password)) socket.write(b);
          } else {
            if (msg.result !== LinkError.OK) return fail(`link result ${msg.result}`);
            settled = true;
            clearTimeout(timer);
            socket.pause();
            socket.removeListener('data', onData);
            socket.removeListener('close', onClose);
            socket.removeListener('error', onError);
            socket.on('error', () => socket.destroy());
            return resolve({ socket, remainder: decoder.takeRemainder() });
          }
        }
      } catch (err) {
        fail((err as Error).message);
      }
    };
    const onClose = (): void => fail(`closed during the link (${decoder.currentState})`);
    const onError = (err: Error): void => fail(err.message);
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(clientLinkMessage(channelType, connectionId)));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

/** Reads main-channel frames up to MAIN_INIT; then keeps draining the channel (as a client does). */
function readSessionId(main: Linked, timeoutMs = 15_000): Promise<number> {
  const frames = new MiniFrameDecoder();
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error('no MAIN_INIT')), timeoutMs);
    function finish(outcome: number | Error): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      main.socket.removeListener('close', onClose);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    }
    const onClose = (): void => finish(new Error('main closed before MAIN_INIT'));
    const onData = (chunk: Buffer): void => {
      if (done) return;
      try {
        for (const f of frames.feed(chunk)) if (f.type === MainServerMessage.INIT) return finish(decodeMainInit(f.payload).sessionId);
      } catch (err) {
        finish(err as Error);
      }
    };
    main.socket.on('data', onData);
    main.socket.on('close', onClose);
    if (main.remainder.length > 0) onData(main.remainder);
    main.socket.resume();
  });
}

export interface Session {
  sessionId: number;
  main: Socket;
  /** Paused, DISPLAY_INIT already sent. */
  display: Socket;
  displayRemainder: Buffer;
  /** Link of both channels, connect to DISPLAY_INIT written, ms. */
  linkMs: number;
  close(): void;
}

/** Main, then display with the MAIN_INIT session id and the same password, then DISPLAY_INIT. */
export async function openSession(port: number, password: string): Promise<Session> {
  const t0 = performance.now();
  const main = await linkChannel(port, password, ChannelType.MAIN, 0);
  let display: Linked;
  let sessionId: number;
  try {
    sessionId = await readSessionId(main);
    display = await linkChannel(port, password, ChannelType.DISPLAY, sessionId);
  } catch (err) {
    main.socket.destroy();
    throw err;
  }
  // spice-server (and the gateway in front of it) expects this first on a display channel.
  display.socket.write(encodeDisplayInitFrame());
  return {
    sessionId,
    main: main.socket,
    display: display.socket,
    displayRemainder: display.remainder,
    linkMs: performance.now() - t0,
    close: () => {
      display.socket.destroy();
      main.socket.destroy();
    },
  };
}

/** Opens `count` sessions, `concurrency` at a time; per-session link times in ms. */
export async function openSessions(count: number, concurrency: number, open: () => Promise<Session>): Promise<{ sessions: Session[]; linkMs: number[]; wallMs: number }> {
  const sessions: Session[] = [];
  const linkMs: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const s = await open();
      sessions.push(s);
      linkMs.push(s.linkMs);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } catch (err) {
    for (const s of sessions) s.close();
    throw err;
  }
  return { sessions, linkMs, wallMs: performance.now() - t0 };
}

export interface BulkResult {
  bytes: number;
  frames: number;
  seconds: number;
}

/**
 * Receives the display channel's bulk stream: `warmupMs` uncounted, then counts bytes for
 * `seconds`. Every byte goes through MiniFrameScanner, so a relay that dropped, duplicated
 * or reordered bytes would fail on the frame types. `onWindow` brackets the counted window.
 */
export function receiveBulk(
  s: Session,
  frameType: number,
  warmupMs: number,
  seconds: number,
  onWindow: { start(): Promise<void> | void; end(): Promise<void> | void },
): Promise<BulkResult> {
  const scanner = new MiniFrameScanner();
  let counting = false;
  let bytes = 0;
  let frames = 0;
  let broken: Error | undefined;
  const onData = (chunk: Buffer): void => {
    try {
      for (const f of scanner.scan(chunk)) {
        if (f.type !== frameType) throw new Error(`frame type ${f.type} at offset ${f.offset}, expected ${frameType}`);
        if (counting) frames++;
      }
    } catch (err) {
      broken ??= err as Error;
      s.close();
    }
    if (counting) bytes += chunk.length;
  };
  s.display.on('data', onData);
  if (s.displayRemainder.length > 0) onData(s.displayRemainder);
  s.display.resume();
  return (async () => {
    await sleep(warmupMs);
    await onWindow.start();
    counting = true;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    counting = false;
    const elapsed = (performance.now() - t0) / 1000;
    await onWindow.end();
    s.display.removeListener('data', onData);
    if (broken) throw broken;
    if (s.display.destroyed) throw new Error('display channel closed during the bulk window');
    return { bytes, frames, seconds: elapsed };
  })();
}

/**
 * Sequential request/echo on the display channel: one 38-byte frame (a STREAM_REPORT-sized
 * client message) out, wait for it back whole, repeat. Round trips in µs, warm-up excluded.
 */
export function echoRoundTrips(s: Session, samples: number, warmup: number): Promise<number[]> {
  const frames = new MiniFrameDecoder({ maxMessageSize: 1024 });
  const body = Buffer.alloc(32);
  const rtts: number[] = [];
  let i = 0;
  let sentAt = 0;
  return new Promise((resolve, reject) => {
    const send = (): void => {
      body.writeUInt32LE(i, 0);
      sentAt = performance.now();
      s.display.write(encodeMiniFrame(DisplayClientMessage.STREAM_REPORT, body));
    };
    const onClose = (): void => reject(new Error(`display closed after ${i} echoes`));
    s.display.on('close', onClose);
    s.display.on('data', (chunk: Buffer) => {
      const now = performance.now();
      for (const f of frames.feed(chunk)) {
        if (f.type !== DisplayClientMessage.STREAM_REPORT || f.payload.readUInt32LE(0) !== i) {
          s.display.removeListener('close', onClose);
          return reject(new Error(`echo ${i}: got type ${f.type} #${f.payload.length >= 4 ? f.payload.readUInt32LE(0) : -1}`));
        }
        if (i >= warmup) rtts.push((now - sentAt) * 1000);
        if (++i === warmup + samples) {
          s.display.removeListener('close', onClose);
          return resolve(rtts);
        }
        send();
      }
    });
    if (s.displayRemainder.length > 0) frames.feed(s.displayRemainder);
    s.display.resume();
    send();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
