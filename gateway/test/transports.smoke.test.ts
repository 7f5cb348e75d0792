import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, createWebSocketStream } from 'ws';
import { MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { clientLinkMessage } from '@deskplane/testbed';
import { httpConnect, httpRefusal, linkOverStream } from './support/link-probe';
import { HOST, countingProxy, startQemu, stopQemu } from './support/qemu';

const HANDSHAKE_MS = 2_000;
const ORIGIN = 'https://console.deskplane.example';
/** What the .vv file would say: the gateway accepts only these CONNECT targets. */
const TARGET = 'vd-1.deskplane.example:5900';
const MAX_PAYLOAD = 64 * 1024;

describe('CONNECT and WebSocket fronts in front of a real QEMU SPICE server', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  let qemu: ChildProcess | undefined;
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  let gw: Gateway | undefined;

  const mint = async (): Promise<string> =>
    (await tickets.mint({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { host: HOST, port: proxy!.port, password }, ttlMs: 60_000 })).ticket;
  const connectHead = (target = TARGET): string => `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`;
  const openWs = (origin = ORIGIN): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${HOST}:${gw!.websocketPort!}/spice`, ['binary'], { origin });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });

  beforeAll(async () => {
    const qemuPort = await freePort(HOST);
    qemu = await startQemu(qemuPort, password);
    proxy = await countingProxy(qemuPort);
    gw = await startGateway({
      listen: { host: HOST, port: 0 },
      httpConnect: { listen: { host: HOST, port: 0 }, allowedTargets: [TARGET] },
      websocket: { listen: { host: HOST, port: 0 }, path: '/spice', allowedOrigins: [ORIGIN], maxPayload: MAX_PAYLOAD },
      tickets,
      log: (event, fields) => void logs.push({ event, fields }),
      handshakeTimeoutMs: HANDSHAKE_MS,
      failedTickets: { maxFailures: 1_000 },
    });
  }, 30_000);

  afterAll(async () => {
    await gw?.close();
    await proxy?.close();
    if (qemu) await stopQemu(qemu);
  });

  describe('HTTP CONNECT', () => {
    it('tunnels the link: a good ticket → 200 then link result 0 from QEMU', async () => {
      const ticket = await mint();
      const before = proxy!.count();
      const { status, socket, rest } = await httpConnect(gw!.connectPort!, connectHead());
      expect(status).toBe(200);
      expect(await linkOverStream(socket, ticket, { initial: rest })).toBe(0);
      expect(proxy!.count()).toBe(before + 1);
    });

    it('keeps SPICE bytes pipelined right behind the CONNECT head', async () => {
      const ticket = await mint();
      const { status, socket, rest } = await httpConnect(gw!.connectPort!, connectHead(TARGET.toUpperCase()), clientLinkMessage());
      expect(status).toBe(200);
      expect(await linkOverStream(socket, ticket, { initial: rest, linkAlreadySent: true })).toBe(0);
    });

    it('a wrong ticket through the tunnel → 7, no upstream link', async () => {
      const before = proxy!.count();
      const { status, socket, rest } = await httpConnect(gw!.connectPort!, connectHead());
      expect(status).toBe(200);
      expect(await linkOverStream(socket, `x${randomBytes(16).toString('base64url')}`, { initial: rest })).toBe(7);
      expect(proxy!.count()).toBe(before);
    });

    it('refuses a target not in the allow-list with 403; QEMU never sees a link', async () => {
      const before = proxy!.count();
      for (const target of ['vd-1.deskplane.example:22', 'evil.example:5900', `${HOST}:${proxy!.port}`]) {
        const { status } = await httpRefusal(gw!.connectPort!, connectHead(target) + 'REDQ');
        expect(status, target).toBe(403);
      }
      expect(proxy!.count()).toBe(before);
    });

    it('refuses garbage with 400 and other methods with 405, then closes', async () => {
      expect((await httpRefusal(gw!.connectPort!, 'hello there\r\n')).status).toBe(400);
      expect((await httpRefusal(gw!.connectPort!, 'REDQ\x02\x00\x00\x00\x02\x00\x00\x00\r\n\r\n')).status).toBe(400);
      expect((await httpRefusal(gw!.connectPort!, `CONNECT ${TARGET} HTTP/1.1\r\nX: ${'a'.repeat(9_000)}`)).status).toBe(400);
      expect((await httpRefusal(gw!.connectPort!, `GET /${TARGET} HTTP/1.1\r\nHost: x\r\n\r\n`)).status).toBe(405);
    });

    it('answers a head that never completes within the handshake timeout with 408 and closes', async () => {
      const t0 = Date.now();
      const { status } = await httpRefusal(gw!.connectPort!, `CONNECT ${TARGET} HTTP/1.1\r\n`);
      expect(status).toBe(408);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(HANDSHAKE_MS - 100);
    });
  });

  describe('WebSocket', () => {
    it('links over binary frames: a good ticket → 0 from QEMU', async () => {
      const ticket = await mint();
      const before = proxy!.count();
      const ws = await openWs();
      expect(ws.protocol).toBe('binary'); // spice-html5 asks for it
      expect(await linkOverStream(createWebSocketStream(ws), ticket)).toBe(0);
      expect(proxy!.count()).toBe(before + 1);
    });

    it('a wrong ticket → 7, no upstream link', async () => {
      const before = proxy!.count();
      const ws = await openWs();
      expect(await linkOverStream(createWebSocketStream(ws), `x${randomBytes(16).toString('base64url')}`)).toBe(7);
      expect(proxy!.count()).toBe(before);
    });

    it('closes on a text frame with 1003; nothing reaches QEMU', async () => {
      const before = proxy!.count();
      const ws = await openWs();
      const code = await new Promise<number>((resolve) => {
        ws.once('close', (c: number) => resolve(c));
        ws.send('REDQ hello');
      });
      expect(code).toBe(1003);
      expect(proxy!.count()).toBe(before);
    });

    it('closes on a message over maxPayload with 1009; nothing reaches QEMU', async () => {
      const before = proxy!.count();
      const ws = await openWs();
      const code = await new Promise<number>((resolve) => {
        ws.once('close', (c: number) => resolve(c));
        ws.send(Buffer.alloc(MAX_PAYLOAD + 1));
      });
      expect(code).toBe(1009);
      expect(proxy!.count()).toBe(before);
    });

    it('refuses an origin not in the allow-list with 403', async () => {
      await expect(openWs('https://evil.example')).rejects.toThrow('Unexpected server response: 403');
    });
  });

  it('logs the transport and never a ticket or the password', () => {
    expect(JSON.stringify(logs)).not.toContain(password);
    // The wrong-ticket refusals are logged before the reply is written: deterministic.
    const refused = logs.filter((l) => l.event === 'link.refused').map((l) => l.fields.transport);
    expect(refused).toEqual(expect.arrayContaining(['connect', 'websocket']));
    expect(logs.filter((l) => l.event === 'connect.refused').map((l) => l.fields.status)).toEqual(expect.arrayContaining([400, 403, 405, 408]));
  });
});
