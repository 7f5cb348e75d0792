import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { ChannelType, CommonCap, ServerLinkDecoder, capsToWords, encodeLinkMessage } from '@deskplane/spice-protocol';
import { freePort, ticketAnswer } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { HOST, startQemu, stopQemu } from './support/qemu';

/**
 * The same malformed link openings sent to QEMU's spice-server and to the gateway: the
 * gateway answers the link itself, so it must refuse exactly what spice-server refuses,
 * with the same link reply, and accept what it accepts.
 */

const HANDSHAKE_MS = 2_000;

/** remote-viewer's main-channel link message: 2 caps words, so caps live at body offset 18..26. */
const valid = (): Buffer =>
  encodeLinkMessage({
    connectionId: 0, channelType: ChannelType.MAIN, channelId: 0,
    commonCaps: capsToWords([CommonCap.AUTH_SELECTION, CommonCap.MINI_HEADER]), channelCaps: [0xf],
  });
/** Offsets in the whole message: header magic 0, major 4, minor 8, size 12; body num_common 22, num_channel 26, caps_offset 30. */
const patched = (...edits: [offset: number, value: number][]): Buffer => {
  const b = valid();
  for (const [at, v] of edits) b.writeUInt32LE(v >>> 0, at);
  return b;
};

interface Answer {
  bytes: Buffer;
  /** Link reply error field, when a whole reply came. */
  error?: number;
  /** Whether the peer closed within the wait. */
  closed: boolean;
}

/** Sends `bytes`, collects the answer for `waitMs` or until the peer closes. */
function ask(port: number, bytes: Buffer, waitMs = 1_500): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const chunks: Buffer[] = [];
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      let error: number | undefined;
      try {
        const first = new ServerLinkDecoder().feed(all)[0];
        if (first?.kind === 'linkReply') error = first.error;
      } catch {
        error = undefined;
      }
      resolve({ bytes: all, error, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // spice-server resets after some refusals: closed is what counts
    socket.on('close', () => finish(true));
  });
}

/** Sockets of this process on `port` other than the listener (TIME_WAIT holds no descriptor). */
function heldSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length > 3 && cols[1]!.endsWith(`:${hexPort}`) && cols[3] !== '0A' && cols[3] !== '06').length;
}

describe('link-phase parity: spice-server vs the gateway', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  let qemu: ChildProcess | undefined;
  let qemuPort = 0;
  let gw: Gateway | undefined;

  beforeAll(async () => {
    qemuPort = await freePort(HOST);
    qemu = await startQemu(qemuPort, password);
    gw = await startGateway({ listen: { host: HOST, port: 0 }, tickets, handshakeTimeoutMs: HANDSHAKE_MS, failedTickets: { maxFailures: 1_000 } });
  }, 30_000);

  afterAll(async () => {
    await gw?.close();
    if (qemu) await stopQemu(qemu);
  });

  const both = (bytes: Buffer, waitMs?: number): Promise<[Answer, Answer]> => Promise.all([ask(qemuPort, bytes, waitMs), ask(gw!.port, bytes, waitMs)]);

  // The errors spice-server 0.15.1 gives, measured; the gateway must give the same bytes.
  it.each([
    ['bad magic', 2, patched([0, 0x58444552])],
    ['an SSH banner', 2, Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n')],
    ['major version 1', 4, patched([4, 1])],
    ['major version 3', 4, patched([4, 3])],
    ['size over the 4096-byte limit', 3, patched([12, 4097])],
    ['size 0xffffffff', 3, patched([12, 0xffffffff])],
    ['size 0', 3, patched([12, 0])],
    ['size below the fixed part (17)', 3, patched([12, 17])],
    ['size smaller than the caps it holds (18)', 3, patched([12, 18])],
    ['num_common_caps 0xffffffff', 3, patched([22, 0xffffffff])],
    ['num_channel_caps 0xffffffff', 3, patched([26, 0xffffffff])],
    ['caps counts one word past the body', 3, patched([22, 2])],
    ['caps counts that wrap 32 bits (0x40000000 words)', 3, patched([22, 0x40000000], [30, 18])],
    ['caps offset outside the body', 3, patched([30, 1_000])],
    ['caps offset 0xffffffff', 3, patched([30, 0xffffffff])],
    ['caps offset inside the fixed part (0)', 3, patched([30, 0])],
    ['caps offset inside the fixed part (17)', 3, patched([30, 17])],
  ])('%s: both refuse with error %i in the same link reply and close', async (_name, expected, bytes) => {
    const [server, gateway] = await both(bytes);
    expect(server.error, 'spice-server').toBe(expected);
    expect(server.closed).toBe(true);
    expect(gateway.error, 'gateway').toBe(expected);
    expect(gateway.closed).toBe(true);
    expect(gateway.bytes.toString('hex')).toBe(server.bytes.toString('hex'));
  });

  it.each([
    ['minor version 0', patched([8, 0])],
    ['minor version 1', patched([8, 1])],
    ['minor version 3', patched([8, 3])],
    ['minor version 0xffffffff', patched([8, 0xffffffff])],
    ['no caps, offset 0xffffffff (the offset is not read)', patched([22, 0], [26, 0], [30, 0xffffffff])],
  ])('%s: both accept (reply error 0) and wait for the ticket', async (_name, bytes) => {
    const [server, gateway] = await both(bytes, 500);
    expect(server.error).toBe(0);
    expect(server.closed).toBe(false);
    expect(gateway.error).toBe(0);
    expect(gateway.closed).toBe(false);
  });

  it.each([
    ['the header only', valid().subarray(0, 16)],
    ['3 bytes', valid().subarray(0, 3)],
    ['a body shorter than its size field', patched([12, 4_096])],
  ])('%s, then silence: spice-server waits forever, the gateway cuts at the handshake timeout without a reply', async (_name, bytes) => {
    const [server, gateway] = await both(bytes, HANDSHAKE_MS + 1_000);
    expect(server.closed).toBe(false);
    expect(server.bytes).toHaveLength(0);
    expect(gateway.closed).toBe(true);
    expect(gateway.bytes).toHaveLength(0);
  });

  it.each([
    ['smartcard (not configured in this guest)', ChannelType.SMARTCARD],
    ['an unknown type (200)', 200],
  ])('channel type %s: spice-server closes without a reply; the gateway never links it either', async (_name, type) => {
    const message = valid();
    message.writeUInt8(type, 20);
    const server = await ask(qemuPort, message);
    expect(server).toMatchObject({ closed: true, error: undefined });
    expect(server.bytes).toHaveLength(0);
    // The gateway answers the link before it knows the guest: the refusal comes after the ticket.
    const ticket = (await tickets.mint({ user: 'u', tenant: 't', desktop: 'ns/vd-parity', upstream: { host: HOST, port: qemuPort, password }, ttlMs: 60_000 })).ticket;
    const result = await new Promise<number | string>((resolve) => {
      const socket = connect({ host: HOST, port: gw!.port }, () => socket.write(message));
      const decoder = new ServerLinkDecoder();
      socket.on('data', (c: Buffer) => {
        for (const m of decoder.feed(c)) {
          if (m.kind === 'linkResult') resolve(m.result);
          else if (m.error !== 0) resolve(`reply ${m.error}`);
          else for (const b of ticketAnswer(m, ticket)) socket.write(b);
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve('closed'));
    });
    expect(result).not.toBe(0);
  });

  it('a client dribbling a valid link message (1 byte / 300 ms) is cut at the handshake timeout; spice-server keeps it', async () => {
    const message = valid();
    const dribble = (port: number): { closedAfter: Promise<number>; sent: () => number; stop: () => void } => {
      const started = Date.now();
      let sent = 0;
      const socket = connect({ host: HOST, port });
      const tick = setInterval(() => {
        if (sent < message.length && !socket.destroyed) socket.write(message.subarray(sent, ++sent));
      }, 300);
      socket.on('error', () => undefined);
      const closedAfter = new Promise<number>((r) => socket.on('close', () => r(Date.now() - started)));
      return { closedAfter, sent: () => sent, stop: () => (clearInterval(tick), socket.destroy()) };
    };
    const toServer = dribble(qemuPort);
    const toGateway = dribble(gw!.port);
    const gatewayCut = await Promise.race([toGateway.closedAfter, new Promise<number>((r) => setTimeout(() => r(-1), HANDSHAKE_MS + 2_000))]);
    toGateway.stop();
    expect(gatewayCut).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    expect(gatewayCut).toBeLessThan(HANDSHAKE_MS + 500);
    expect(toGateway.sent()).toBeLessThan(message.length);
    const serverStillOpen = await Promise.race([toServer.closedAfter.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 500))]);
    toServer.stop();
    expect(serverStillOpen).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(heldSockets(gw!.port)).toBe(0);
  });
});
