import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  AuthMechanism,
  ChannelType,
  CommonCap,
  DEFAULT_MAX_MESSAGE_SIZE,
  MainServerMessage,
  MiniFrameDecoder,
  ServerLinkDecoder,
  LinkError,
  decodeMainInit,
  encodeAuthMechanism,
  encodeLinkMessage,
  encryptTicket,
  hasCap,
  type LinkMessage,
  type LinkReply,
} from '@deskplane/spice-protocol';
import type { UpstreamTarget } from './tickets';

export interface UpstreamLink {
  /** 0 = linked; otherwise the link error from the upstream's reply or result. */
  result: number;
  /** The upstream's link reply (absent if it refused in the reply). */
  reply?: LinkReply;
  /** Paused, link-phase listeners removed; present only when result = 0. */
  socket?: Socket;
  /** Channel-phase bytes that arrived with the link result. */
  remainder: Buffer;
}

/**
 * Links one channel to the guest's SPICE server with its real password. `check` sees the
 * reply before the ticket is sent and may veto it (returns a link error). Rejects when the
 * upstream is unreachable, breaks the protocol or is silent past timeoutMs.
 */
export function linkUpstream(
  target: UpstreamTarget,
  link: LinkMessage,
  timeoutMs: number,
  check: (reply: LinkReply) => number = () => LinkError.OK,
): Promise<UpstreamLink> {
  const decoder = new ServerLinkDecoder();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let reply: LinkReply | undefined;
    let settled = false;
    const settle = (outcome: UpstreamLink | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      if (outcome instanceof Error || outcome.socket === undefined) socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => settle(new Error(`upstream ${target.host}:${target.port}: no link result within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      try {
        for (const msg of decoder.feed(chunk)) {
          if (msg.kind === 'linkReply') {
            reply = msg;
            if (msg.error !== LinkError.OK) return settle({ result: msg.error, reply, remainder: Buffer.alloc(0) });
            const veto = check(msg);
            if (veto !== LinkError.OK) return settle({ result: veto, reply, remainder: Buffer.alloc(0) });
            // spice-server's rule: it reads a mechanism iff the link message it got offers selection.
            if (hasCap(link.commonCaps, CommonCap.AUTH_SELECTION)) socket.write(encodeAuthMechanism(AuthMechanism.SPICE));
            socket.write(encryptTicket(target.password, msg.publicKey));
          } else {
            socket.pause();
            const remainder = decoder.takeRemainder();
            if (msg.result !== LinkError.OK) return settle({ result: msg.result, reply, remainder });
            return settle({ result: LinkError.OK, reply, socket, remainder });
          }
        }
      } catch (err) {
        settle(err as Error);
      }
    };
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(encodeLinkMessage(link)));
    socket.on('data', onData);
    socket.on('error', (err) => settle(new Error(`upstream ${target.host}:${target.port}: ${err.message}`)));
    socket.on('close', () => settle(new Error(`upstream ${target.host}:${target.port} closed during the link phase`)));
  });
}

/** Main frames read while waiting for MAIN_INIT (the server's ~256 KB bandwidth PINGs may come first). */
const MAX_FRAMES_BEFORE_INIT = 64;

/**
 * Reads upstream main-channel frames until MAIN_INIT and returns its session id with
 * every byte read so far (to forward unchanged). The socket is paused again on return.
 */
export function readMainInit(upstream: Socket, remainder: Buffer, timeoutMs: number): Promise<{ sessionId: number; bytes: Buffer }> {
  const decoder = new MiniFrameDecoder({ maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE });
  let frames = 0;
  const seen: Buffer[] = [];
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: { sessionId: number; bytes: Buffer } | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      upstream.pause();
      upstream.removeListener('data', onData);
      upstream.removeListener('close', onClose);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => settle(new Error(`no MAIN_INIT within ${timeoutMs} ms`)), timeoutMs);
    const onClose = (): void => settle(new Error('upstream closed before MAIN_INIT'));
    const onData = (chunk: Buffer): void => {
      seen.push(chunk);
      try {
        for (const frame of decoder.feed(chunk)) {
          if (frame.type === MainServerMessage.INIT) {
            return settle({ sessionId: decodeMainInit(frame.payload).sessionId, bytes: Buffer.concat(seen) });
          }
          if (++frames >= MAX_FRAMES_BEFORE_INIT) return settle(new Error(`no MAIN_INIT in the first ${frames} main messages`));
        }
      } catch (err) {
        settle(err as Error);
      }
    };
    upstream.on('data', onData);
    upstream.on('close', onClose);
    if (remainder.length > 0) onData(remainder);
    if (!settled) upstream.resume();
  });
}

/** Copies src → dst with backpressure; ends dst when src ends. */
function pump(src: Duplex, dst: Duplex): void {
  src.on('data', (chunk: Buffer) => {
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', () => src.resume());
    }
  });
  src.on('end', () => dst.end());
  src.resume();
}

/**
 * Splices two paused sockets both ways, unchanged. Either side failing or closing closes
 * the other; onClose runs once. Both sockets must already be paused with their link-phase
 * listeners removed (bytes are lost otherwise).
 */
export function splice(client: Duplex, upstream: Duplex, onClose: () => void): void {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    client.destroy();
    upstream.destroy();
    onClose();
  };
  for (const s of [client, upstream]) {
    s.on('error', close);
    s.on('close', close);
  }
  pump(client, upstream);
  pump(upstream, client);
}

export const isMain = (channelType: number): boolean => channelType === ChannelType.MAIN;
