import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  AuthMechanism,
  ChannelType,
  CommonCap,
  MiniFrameDecoder,
  ServerLinkDecoder,
  capsToWords,
  decodeMainInit,
  encodeAuthMechanism,
  encodeLinkMessage,
  encryptTicket,
} from '@deskplane/spice-protocol';
import { freePort, probeSpiceLink } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { HOST, countingProxy, startQemu, stopQemu } from './support/qemu';

const HANDSHAKE_MS = 1_500;

/** Links a main channel through the gateway and keeps it open; resolves with MAIN_INIT's session id. */
function openMain(port: number, ticket: string): Promise<{ sessionId: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    const link = new ServerLinkDecoder();
    const frames = new MiniFrameDecoder();
    let linked = false;
    const timer = setTimeout(() => fail(new Error('no MAIN_INIT')), 5_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onFrames = (chunk: Buffer): void => {
      const init = frames.feed(chunk).find((f) => f.type === 103);
      if (init === undefined) return;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ sessionId: decodeMainInit(init.payload).sessionId, socket });
    };
    socket.on('error', fail);
    socket.on('connect', () =>
      socket.write(encodeLinkMessage({
        connectionId: 0, channelType: ChannelType.MAIN, channelId: 0, channelCaps: [],
        commonCaps: capsToWords([CommonCap.AUTH_SELECTION, CommonCap.MINI_HEADER]),
      })));
    socket.on('data', (chunk: Buffer) => {
      try {
        if (linked) return onFrames(chunk);
        for (const msg of link.feed(chunk)) {
          if (msg.kind === 'linkReply') {
            socket.write(encodeAuthMechanism(AuthMechanism.SPICE));
            socket.write(encryptTicket(ticket, msg.publicKey));
          } else if (msg.result !== 0) {
            return fail(new Error(`link result ${msg.result}`));
          } else {
            linked = true;
            const rest = link.takeRemainder();
            if (rest.length > 0) onFrames(rest);
          }
        }
      } catch (err) {
        fail(err as Error);
      }
    });
  });
}

describe('gateway in front of a real QEMU SPICE server', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  let qemu: ChildProcess | undefined;
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  let gw: Gateway | undefined;
  let gwStrict: Gateway | undefined;

  const mint = async (ttlMs = 60_000): Promise<string> =>
    (await tickets.mint({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { host: HOST, port: proxy!.port, password }, ttlMs })).ticket;
  const probe = (ticket: string, extra: { channelType?: number; connectionId?: number } = {}) =>
    probeSpiceLink({ host: HOST, port: gw!.port, password: ticket, ...extra });

  beforeAll(async () => {
    const qemuPort = await freePort(HOST);
    qemu = await startQemu(qemuPort, password);
    proxy = await countingProxy(qemuPort);
    const log = (event: string, fields: Record<string, unknown>): void => void logs.push({ event, fields });
    gw = await startGateway({ listen: { host: HOST, port: 0 }, tickets, log, handshakeTimeoutMs: HANDSHAKE_MS, failedTickets: { maxFailures: 1_000 } });
    gwStrict = await startGateway({ listen: { host: HOST, port: 0 }, tickets, handshakeTimeoutMs: HANDSHAKE_MS, failedTickets: { maxFailures: 3 } });
  }, 30_000);

  afterAll(async () => {
    await gw?.close();
    await gwStrict?.close();
    await proxy?.close();
    if (qemu) await stopQemu(qemu);
  });

  it('links main with a ticket as the password (result 0), logged in upstream with the real password', async () => {
    const before = proxy!.count();
    const { result, serverCaps } = await probe(await mint());
    expect(result).toBe(0);
    expect(proxy!.count()).toBe(before + 1); // the OK came from QEMU's own link result
    expect(serverCaps.common[0]! & 0b1101).toBe(0b1001); // AUTH_SELECTION + MINI_HEADER, never SASL
  });

  it('refuses a wrong ticket (7) without linking upstream', async () => {
    await mint();
    const before = proxy!.count();
    expect((await probe(`x${randomBytes(16).toString('base64url')}`)).result).toBe(7);
    expect(proxy!.count()).toBe(before);
  });

  it('refuses an expired ticket (7)', async () => {
    const ticket = await mint(1);
    await new Promise((r) => setTimeout(r, 20));
    const before = proxy!.count();
    expect((await probe(ticket)).result).toBe(7);
    expect(proxy!.count()).toBe(before);
  });

  it('secondary channels: right ticket + session id links; a ticket replayed into another session, another user\'s ticket or a second session are refused with PERMISSION_DENIED (7)', async () => {
    const ticket = await mint();
    const main = await openMain(gw!.port, ticket);
    try {
      expect(main.sessionId).not.toBe(0);
      expect((await probe(ticket, { channelType: ChannelType.INPUTS, connectionId: main.sessionId })).result).toBe(0);
      expect((await probe(ticket, { channelType: ChannelType.INPUTS, connectionId: (main.sessionId + 1) >>> 0 })).result).toBe(7);
      expect((await probe(ticket, { channelType: ChannelType.INPUTS })).result).toBe(7);
      // A second session with the same ticket is refused while the first lives.
      expect((await probe(ticket)).result).toBe(7);
      const other = await mint();
      expect((await probe(other, { channelType: ChannelType.INPUTS, connectionId: main.sessionId })).result).toBe(7);
    } finally {
      main.socket.destroy();
    }
  });

  it('rate-limits failed tickets per address: after 3, even a good ticket is refused', async () => {
    const strict = (t: string) => probeSpiceLink({ host: HOST, port: gwStrict!.port, password: t });
    for (let i = 0; i < 3; i++) expect((await strict(`bad-${i}`)).result).toBe(7);
    const before = proxy!.count();
    expect((await strict(await mint())).result).toBe(7);
    expect(proxy!.count()).toBe(before);
  });

  it('cuts a client that sends 3 bytes and goes silent at the handshake timeout', async () => {
    const t0 = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const s = connect({ host: HOST, port: gw!.port }, () => s.write(Buffer.from('RED')));
      s.on('error', reject);
      s.on('close', () => resolve(Date.now() - t0));
    });
    expect(closedAfter).toBeGreaterThanOrEqual(HANDSHAKE_MS - 100);
    expect(closedAfter).toBeLessThan(HANDSHAKE_MS + 2_000);
    expect(logs.some((l) => l.fields.why === 'handshake timeout')).toBe(true);
  });

  it('refuses bad magic with INVALID_MAGIC (2) in a link reply', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect({ host: HOST, port: gw!.port }, () => s.write(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', reject);
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(reply.readUInt32LE(16)).toBe(2);
  });

  it('never logs tickets or passwords', () => {
    const text = JSON.stringify(logs);
    expect(text).not.toContain(password);
    expect(logs.some((l) => l.event === 'link.spliced')).toBe(true);
  });
});
