/**
 * A SPICE server STAND-IN, for benchmarks only (never for tests: those run real QEMU).
 * QEMU cannot push GiB/s through one display channel or hold 5,000 sessions on this
 * machine, and the gateway bench needs both. It speaks the real link protocol through
 * @deskplane/spice-protocol — its own RSA key, the client's ticket decrypted and compared
 * with its password, a link result — then:
 *
 * - main channel: one MAIN_INIT (mini header) with a fresh session id, then silence;
 * - display channel: waits for the client's first message (DISPLAY_INIT, as spice-server
 *   needs), then does what the port it was reached on says:
 *   `idle` nothing, `bulk` writes whole frames as fast as the socket drains,
 *   `echo` sends every later client frame straight back.
 *
 * It does not check connection ids against its sessions (spice-server does not either).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  ChannelType,
  ClientLinkDecoder,
  CommonCap,
  DisplayClientMessage,
  LinkError,
  MINI_HEADER_SIZE,
  MainServerMessage,
  MiniFrameDecoder,
  MouseMode,
  capsToWords,
  decryptTicket,
  encodeLinkReply,
  encodeLinkResult,
  encodeMainInit,
  encodeMiniFrame,
  generateTicketKeyPair,
  type TicketKeyPair,
} from '@deskplane/spice-protocol';

export type DisplayMode = 'idle' | 'bulk' | 'echo';
export const DISPLAY_MODES: readonly DisplayMode[] = ['idle', 'bulk', 'echo'];

export interface FakeSpiceServerOptions {
  host?: string;
  password: string;
  /** Body size of each bulk frame. Default 64 KiB. */
  bulkFrameBytes?: number;
  /** Message type of bulk frames (the client checks it). Default 302, SPICE_MSG_DISPLAY_DRAW_COPY. */
  bulkFrameType?: number;
}

export interface FakeSpiceServer {
  /** One port per display mode; main channels behave the same on all three. */
  ports: Record<DisplayMode, number>;
  /** Open channel connections (link phase included). */
  connections(): number;
  close(): Promise<void>;
}

export const BULK_FRAME_TYPE = 302;

// spice-server 0.15.1's link-reply caps (notes/spice-gateway-facts.md), so the gateway's
// promise check sees what it would see in front of a real guest.
const COMMON_CAPS = capsToWords([CommonCap.AUTH_SELECTION, CommonCap.AUTH_SPICE, CommonCap.MINI_HEADER]);
const CHANNEL_CAPS: Record<number, number[]> = {
  [ChannelType.MAIN]: [0xf],
  [ChannelType.DISPLAY]: [0x1052],
  [ChannelType.INPUTS]: [0x1],
};

/** ~4 MiB of back-to-back whole frames: one write per drain keeps the socket's queue full. */
function bulkBlock(frameBytes: number, type: number): Buffer {
  const frames = Math.max(1, Math.floor((4 * 1024 * 1024) / (MINI_HEADER_SIZE + frameBytes)));
  const frame = encodeMiniFrame(type, Buffer.alloc(frameBytes, 0x5a));
  return Buffer.concat(Array.from({ length: frames }, () => frame));
}

export async function startFakeSpiceServer(opts: FakeSpiceServerOptions): Promise<FakeSpiceServer> {
  const keyPair = await generateTicketKeyPair();
  const block = bulkBlock(opts.bulkFrameBytes ?? 64 * 1024, opts.bulkFrameType ?? BULK_FRAME_TYPE);
  const sockets = new Set<Socket>();
  let nextSession = 0x10000 + Math.floor(Math.random() * 0x10000);
  const servers = DISPLAY_MODES.map((mode) =>
    createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      serveChannel(socket, mode, { keyPair, password: opts.password, block, sessionId: () => nextSession++ });
    }),
  );
  const ports = {} as Record<DisplayMode, number>;
  for (const [i, server] of servers.entries()) ports[DISPLAY_MODES[i]!] = await listen(server, opts.host ?? '127.0.0.1');
  return {
    ports,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        let left = servers.length;
        for (const server of servers) server.close(() => --left === 0 && resolve());
      }),
  };
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

interface ChannelDeps {
  keyPair: TicketKeyPair;
  password: string;
  block: Buffer;
  sessionId: () => number;
}

function serveChannel(socket: Socket, mode: DisplayMode, deps: ChannelDeps): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const link = new ClientLinkDecoder();
  let channelType = 0;
  const onLinkData = (chunk: Buffer): void => {
    try {
      for (const m of link.feed(chunk)) {
        if (m.kind === 'linkMessage') {
          channelType = m.channelType;
          socket.write(
            encodeLinkReply({
              error: LinkError.OK,
              publicKey: deps.keyPair.publicKeyDer,
              commonCaps: COMMON_CAPS,
              channelCaps: CHANNEL_CAPS[m.channelType] ?? [],
            }),
          );
        } else if (m.kind === 'ticket') {
          const given = decryptTicket(m.encrypted, deps.keyPair.privateKey).toString('utf8');
          if (given !== deps.password) {
            socket.end(encodeLinkResult(LinkError.PERMISSION_DENIED));
            return;
          }
          socket.write(encodeLinkResult(LinkError.OK));
          socket.removeListener('data', onLinkData);
          channelPhase(socket, channelType, mode, deps, link.takeRemainder());
          return;
        }
      }
    } catch {
      socket.destroy();
    }
  };
  socket.on('data', onLinkData);
}

function channelPhase(socket: Socket, channelType: number, mode: DisplayMode, deps: ChannelDeps, first: Buffer): void {
  if (channelType === ChannelType.MAIN) {
    const init = encodeMainInit({
      sessionId: deps.sessionId(),
      displayChannelsHint: 1,
      supportedMouseModes: MouseMode.SERVER | MouseMode.CLIENT,
      currentMouseMode: MouseMode.SERVER,
      agentConnected: 0,
      agentTokens: 0,
      multiMediaTime: 0,
      ramHint: 0,
    });
    socket.write(encodeMiniFrame(MainServerMessage.INIT, init));
    socket.on('data', () => undefined); // a real main channel reads and ignores what it does not need
    return;
  }
  const frames = new MiniFrameDecoder({ maxMessageSize: 64 * 1024 });
  let initSeen = channelType !== ChannelType.DISPLAY;
  const onData = (chunk: Buffer): void => {
    let out: Buffer[] | undefined;
    try {
      for (const f of frames.feed(chunk)) {
        if (!initSeen) {
          if (f.type !== DisplayClientMessage.INIT) return void socket.destroy();
          initSeen = true;
          if (mode === 'bulk') blast(socket, deps.block);
        } else if (mode === 'echo') {
          (out ??= []).push(encodeMiniFrame(f.type, f.payload));
        }
      }
    } catch {
      return void socket.destroy();
    }
    // One write per chunk: a burst of echoes leaves as one segment, as a real server batches.
    if (out !== undefined) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  };
  socket.on('data', onData);
  if (first.length > 0) onData(first);
}

/** Keeps the socket's send queue full until the peer goes away. */
function blast(socket: Socket, block: Buffer): void {
  const pump = (): void => {
    while (!socket.destroyed && socket.write(block));
    if (!socket.destroyed) socket.once('drain', pump);
  };
  pump();
}
