import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { LinkError } from '@deskplane/spice-protocol';
import { canConnect, clientLinkMessage, freePort } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, createWebSocketStream } from 'ws';
import { GatewayAdminClient, MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { httpConnect, httpRefusal, linkOverStream } from './support/link-probe';
import { HOST, countingProxy, startQemu, stopQemu } from './support/qemu';
import { makeTestCerts } from './support/tls-certs';

const HANDSHAKE_MS = 1_500;
const TARGET = 'vd-1.deskplane.example:5900';
/** The first bytes of a TLS ClientHello record (handshake, TLS 1.0 record version, 512 bytes announced) and no more. */
const STALLED_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]);

type LogEntry = { at: number; event: string; fields: Record<string, unknown> };

describe('TLS on the SPICE, CONNECT and WebSocket fronts, in front of a real QEMU SPICE server', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: LogEntry[] = [];
  const pki = makeTestCerts(['gw', 'other']);
  const [cert, other] = [pki.certs.gw!, pki.certs.other!];
  const trust: ConnectionOptions = { ca: cert.cert };
  const minted: string[] = [];
  let qemu: ChildProcess | undefined;
  let qemuPort = 0;
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  let gw: Gateway | undefined;

  const mint = async (): Promise<string> => {
    const { ticket } = await tickets.mint({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { host: HOST, port: proxy!.port, password }, ttlMs: 60_000 });
    minted.push(ticket);
    return ticket;
  };
  const wrongTicket = (): string => `x${randomBytes(16).toString('base64url')}`;
  const since = (t0: number, event: string): LogEntry[] => logs.filter((l) => l.at >= t0 && l.event === event);
  const dialTls = (port: number, opts: ConnectionOptions = trust): Promise<TLSSocket> =>
    new Promise((ok, fail) => {
      const s = connectTls({ host: HOST, port, ...opts }, () => {
        s.removeListener('error', fail);
        ok(s);
      });
      s.once('error', fail);
    });
  const connectHead = (target = TARGET): string => `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`;
  const openWss = (scheme = 'wss'): Promise<WebSocket> =>
    new Promise((ok, fail) => {
      const ws = new WebSocket(`${scheme}://${HOST}:${gw!.websocketPort!}/spice`, ['binary'], { ca: cert.cert, handshakeTimeout: 5_000 });
      ws.once('open', () => ok(ws));
      ws.once('error', fail);
    });
  /** Writes `bytes` in clear, collects what comes back until the gateway closes. */
  const plainExchange = (port: number, bytes: Buffer): Promise<{ got: Buffer; ms: number; localPort: number }> =>
    new Promise((ok, fail) => {
      const t0 = Date.now();
      const chunks: Buffer[] = [];
      const s: Socket = connect({ host: HOST, port }, () => s.write(bytes));
      const timer = setTimeout(() => {
        s.destroy();
        fail(new Error('the gateway did not close the connection in 10 s'));
      }, 10_000);
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined); // a reset is a close too; 'close' settles it
      s.on('close', () => {
        clearTimeout(timer);
        ok({ got: Buffer.concat(chunks), ms: Date.now() - t0, localPort: s.localPort ?? 0 });
      });
    });
  /** The gateway's side of one client connection, if any is left in a state other than TIME-WAIT. */
  const serverSocketsFor = (gatewayPort: number, clientPort: number): string[] =>
    execFileSync('ss', ['-Htn', 'state', 'all', `( sport = :${gatewayPort} and dport = :${clientPort} )`], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.split(/\s+/).includes(`${HOST}:${clientPort}`) && !l.startsWith('TIME-WAIT'));

  beforeAll(async () => {
    qemuPort = await freePort(HOST);
    qemu = await startQemu(qemuPort, password);
    proxy = await countingProxy(qemuPort);
    const tls = { cert: cert.cert, key: cert.key };
    gw = await startGateway({
      listen: { host: HOST, port: 0, tls },
      httpConnect: { listen: { host: HOST, port: 0 }, allowedTargets: [TARGET], tls },
      websocket: { listen: { host: HOST, port: 0 }, path: '/spice', tls },
      tickets,
      log: (event, fields) => void logs.push({ at: Date.now(), event, fields }),
      handshakeTimeoutMs: HANDSHAKE_MS,
      failedTickets: { maxFailures: 1_000 },
    });
  }, 30_000);

  afterAll(async () => {
    await gw?.close();
    await proxy?.close();
    if (qemu) await stopQemu(qemu);
    pki.remove();
  });

  describe('SPICE TLS port (TLS from the first byte)', () => {
    it('presents the configured certificate; a good ticket → 0 with one upstream link', async () => {
      const before = proxy!.count();
      const s = await dialTls(gw!.port);
      expect(s.getPeerCertificate().subject.CN).toBe('gw.test');
      expect(await linkOverStream(s, await mint())).toBe(LinkError.OK);
      expect(proxy!.count()).toBe(before + 1);
    });

    it('a wrong ticket → 7, no upstream link', async () => {
      const before = proxy!.count();
      const t0 = Date.now();
      expect(await linkOverStream(await dialTls(gw!.port), wrongTicket())).toBe(LinkError.PERMISSION_DENIED);
      expect(proxy!.count()).toBe(before);
      expect(since(t0, 'link.refused').map((l) => l.fields.transport)).toEqual(['tls']);
    });

    it('cuts a plaintext SPICE client at once: no SPICE reply, nothing reaches QEMU', async () => {
      const before = proxy!.count();
      const t0 = Date.now();
      const { got, ms } = await plainExchange(gw!.port, clientLinkMessage());
      expect(got.includes('REDQ')).toBe(false);
      expect(ms).toBeLessThan(HANDSHAKE_MS / 2);
      expect(proxy!.count()).toBe(before);
      expect(since(t0, 'tls.failed').map((l) => [l.fields.transport, l.fields.code])).toEqual([['tls', 'ERR_SSL_WRONG_VERSION_NUMBER']]);
      expect(since(t0, 'link.refused')).toEqual([]);
    });

    it('startGateway rejects a key that does not match its certificate, and leaves nothing listening', async () => {
      const [a, b] = [await freePort(HOST), await freePort(HOST)];
      await expect(startGateway({
        listen: { host: HOST, port: a }, httpConnect: { listen: { host: HOST, port: b }, allowedTargets: [TARGET], tls: { cert: cert.cert, key: other.key } }, tickets,
      })).rejects.toThrow(/key values mismatch/);
      expect(await canConnect(HOST, a, 500)).toBe(false);
    });

    it('a client that trusts another CA never gets to the link', async () => {
      const before = proxy!.count();
      await expect(dialTls(gw!.port, { ca: other.cert })).rejects.toThrow(/self[- ]signed|unable to verify/i);
      expect(proxy!.count()).toBe(before);
    });
  });

  describe('HTTP CONNECT inside TLS (an https proxy)', () => {
    it('TLS, then CONNECT → 200, then the link in the tunnel → 0 with one upstream link', async () => {
      const before = proxy!.count();
      const t0 = Date.now();
      const { status, socket, rest } = await httpConnect(gw!.connectPort!, connectHead(), undefined, trust);
      expect(status).toBe(200);
      expect(since(t0, 'connect.tunnel').map((l) => l.fields.transport)).toEqual(['connect-tls']);
      expect(await linkOverStream(socket, await mint(), { initial: rest })).toBe(LinkError.OK);
      expect(proxy!.count()).toBe(before + 1);
    });

    it('refuses a disallowed target inside TLS with 403, and a wrong ticket in the tunnel with 7', async () => {
      const before = proxy!.count();
      const t0 = Date.now();
      expect((await httpRefusal(gw!.connectPort!, connectHead('evil.example:5900'), trust)).status).toBe(403);
      const { status, socket, rest } = await httpConnect(gw!.connectPort!, connectHead(), undefined, trust);
      expect(status).toBe(200);
      expect(await linkOverStream(socket, wrongTicket(), { initial: rest })).toBe(LinkError.PERMISSION_DENIED);
      expect(proxy!.count()).toBe(before);
      // Refusals are logged before they are written: these lines are there by now.
      expect(since(t0, 'connect.refused').map((l) => [l.fields.transport, l.fields.status])).toEqual([['connect-tls', 403]]);
      expect(since(t0, 'link.refused').map((l) => l.fields.transport)).toEqual(['connect-tls']);
    });

    it('gives a plaintext CONNECT no HTTP answer; nothing reaches QEMU', async () => {
      const before = proxy!.count();
      const { got } = await plainExchange(gw!.connectPort!, Buffer.from(connectHead(), 'latin1'));
      expect(got.toString('latin1')).not.toContain('HTTP/1.1');
      expect(proxy!.count()).toBe(before);
    });
  });

  describe('WebSocket over https (wss)', () => {
    it('a good ticket → 0 over binary frames, one upstream link', async () => {
      const before = proxy!.count();
      const ws = await openWss();
      expect(await linkOverStream(createWebSocketStream(ws), await mint())).toBe(LinkError.OK);
      expect(proxy!.count()).toBe(before + 1);
    });

    it('a wrong ticket → 7; a plaintext ws:// upgrade on the wss port fails; no upstream link', async () => {
      const before = proxy!.count();
      const t0 = Date.now();
      expect(await linkOverStream(createWebSocketStream(await openWss()), wrongTicket())).toBe(LinkError.PERMISSION_DENIED);
      expect(since(t0, 'link.refused').map((l) => l.fields.transport)).toEqual(['wss']);
      await expect(openWss('ws')).rejects.toThrow();
      expect(proxy!.count()).toBe(before);
    });
  });

  describe('the handshake timeout covers the TLS handshake', () => {
    it.each([
      ['tls', () => gw!.port, 'link.closed'],
      ['connect-tls', () => gw!.connectPort!, 'connect.refused'],
      ['wss', () => gw!.websocketPort!, 'tls.failed'],
    ] as const)('%s: a client stalled inside its ClientHello is cut at the timeout, no socket left', async (transport, port, event) => {
      const before = proxy!.count();
      const t0 = Date.now();
      const { got, ms, localPort } = await plainExchange(port(), STALLED_HELLO);
      expect(ms).toBeGreaterThanOrEqual(HANDSHAKE_MS - 100);
      expect(ms).toBeLessThan(HANDSHAKE_MS + 1_000);
      expect(got.toString('latin1')).not.toContain('HTTP/1.1'); // no 408 in clear on a TLS port
      expect(serverSocketsFor(port(), localPort)).toEqual([]);
      expect(proxy!.count()).toBe(before);
      expect(since(t0, event).map((l) => l.fields.transport)).toEqual([transport]);
    });
  });

  it('never logs a ticket or the password', () => {
    const text = JSON.stringify(logs);
    expect(minted.length).toBe(3);
    for (const secret of [password, ...minted]) expect(text).not.toContain(secret);
  });

  describe('the deskplane-gateway process (main.ts) with TLS variables', () => {
    const root = resolve(__dirname, '../..');
    const run = (env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } => {
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'gateway/src/main.ts'], {
        cwd: root, env: { ...process.env, DESKPLANE_GATEWAY_METRICS_LISTEN: 'off', DESKPLANE_GATEWAY_ADMIN_LISTEN: 'off', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      return { child, out: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
    };

    it('serves the TLS port from DESKPLANE_GATEWAY_TLS_CERT / _KEY: a ticket from the admin API links → 0', async () => {
      const [spice, admin] = [await freePort(HOST), await freePort(HOST)];
      const p = run({
        DESKPLANE_GATEWAY_LISTEN: `${HOST}:${spice}`, DESKPLANE_GATEWAY_ADMIN_LISTEN: `${HOST}:${admin}`,
        DESKPLANE_GATEWAY_TLS_CERT: cert.certFile, DESKPLANE_GATEWAY_TLS_KEY: cert.keyFile,
      });
      const client = new GatewayAdminClient(`${HOST}:${admin}`);
      try {
        const deadline = Date.now() + 30_000;
        while (!p.out().includes('"gateway started"') && Date.now() < deadline && p.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
        expect(p.out()).toContain('"gateway started"');
        const { ticket } = await client.mintTicket({ user: 'dave', tenant: 'acme', desktop: 'vd-9', upstream: { host: HOST, port: qemuPort, password } });
        expect(await linkOverStream(await dialTls(spice), ticket)).toBe(LinkError.OK);
        expect((await plainExchange(spice, clientLinkMessage())).got.includes('REDQ')).toBe(false);
        p.child.kill('SIGTERM');
        expect(await p.exited).toBe(0);
        expect(p.out()).toMatch(/"transport":"tls"/);
      } finally {
        client.close();
        if (p.child.exitCode === null) p.child.kill('SIGKILL');
      }
    }, 60_000);

    it.each([
      ['an unreadable certificate', { DESKPLANE_GATEWAY_WS_LISTEN: `${HOST}:0`, DESKPLANE_GATEWAY_WS_TLS_CERT: '/nonexistent/ws.crt', DESKPLANE_GATEWAY_WS_TLS_KEY: '/nonexistent/ws.key' },
        ['DESKPLANE_GATEWAY_WS_TLS_CERT: cannot read /nonexistent/ws.crt']],
      ['a key that does not match the certificate', { DESKPLANE_GATEWAY_TLS_CERT: cert.certFile, DESKPLANE_GATEWAY_TLS_KEY: other.keyFile },
        [`DESKPLANE_GATEWAY_TLS_CERT: ${cert.certFile} with ${other.keyFile}: `, 'key values mismatch']],
    ])('exits 2 naming the variable for %s', async (_what, env, [message, detail]) => {
      const p = run({ DESKPLANE_GATEWAY_LISTEN: `${HOST}:0`, ...env });
      expect(await p.exited).toBe(2);
      expect(p.out()).toContain(`deskplane-gateway: bad configuration: ${message}`);
      if (detail !== undefined) expect(p.out()).toContain(detail);
    }, 30_000);
  });
});
