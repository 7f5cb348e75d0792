import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { ChannelType, LinkError, MiniFrameDecoder, ServerLinkDecoder, decodeMainInit } from '@deskplane/spice-protocol';
import { canConnect, clientLinkMessage, freePort, probeSpiceLink, ticketAnswer } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayAdminClient, startAdminServer, type AdminServer } from '../src/admin';
import { attachAudit } from '../src/audit';
import { CapsBook } from '../src/caps-book';
import { CapsProber } from '../src/caps-probe';
import { MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { GatewayMetrics, startMetricsServer, type MetricsServer } from '../src/metrics';
import { linkOverStream } from './support/link-probe';
import { HOST, startQemu, stopQemu } from './support/qemu';

const MAIN_INIT = 103;

/** A main channel linked through the gateway and kept open (read and discarded) until closed. */
function openMain(port: number, ticket: string): Promise<{ sessionId: number; socket: Socket; closed: Promise<void> }> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host: HOST, port });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    const link = new ServerLinkDecoder();
    const frames = new MiniFrameDecoder();
    let linked = false;
    let done = false;
    const timer = setTimeout(() => fail(new Error('no MAIN_INIT within 5 s')), 5_000);
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onFrames = (chunk: Buffer): void => {
      if (done) return;
      const init = frames.feed(chunk).find((f) => f.type === MAIN_INIT);
      if (init === undefined) return;
      done = true;
      clearTimeout(timer);
      resolvePromise({ sessionId: decodeMainInit(init.payload).sessionId, socket, closed });
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('closed before MAIN_INIT')));
    socket.on('connect', () => socket.write(clientLinkMessage(ChannelType.MAIN)));
    socket.on('data', (chunk: Buffer) => {
      try {
        if (linked) return onFrames(chunk);
        for (const msg of link.feed(chunk)) {
          if (msg.kind === 'linkReply') {
            if (msg.error !== LinkError.OK) return fail(new Error(`link reply error ${msg.error}`));
            for (const b of ticketAnswer(msg, ticket)) socket.write(b);
          } else if (msg.result !== LinkError.OK) {
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

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** One series' value in Prometheus text (0 when absent: a counter that never moved). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('gateway operations: admin API, metrics and audit in front of a real QEMU', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  let qemuPort = 0;
  let qemu: ChildProcess | undefined;
  let gw: Gateway | undefined;
  let admin: AdminServer | undefined;
  let metricsServer: MetricsServer | undefined;
  let client: GatewayAdminClient;
  const scrape = async (): Promise<string> => (await fetch(`${metricsServer!.url}/metrics`)).text();
  const upstream = (): { host: string; port: number; password: string } => ({ host: HOST, port: qemuPort, password });

  beforeAll(async () => {
    qemuPort = await freePort(HOST);
    qemu = await startQemu(qemuPort, password);
    const log = (event: string, fields: Record<string, unknown>): void => void logs.push({ event, fields });
    gw = await startGateway({ listen: { host: HOST, port: 0 }, tickets, log, observer: metrics, handshakeTimeoutMs: 2_000, failedTickets: { maxFailures: 1_000 } });
    metrics.readFrom(gw.sessions);
    attachAudit(gw.sessions, log);
    admin = await startAdminServer({
      listen: { host: HOST, port: 0 },
      deps: { sessions: gw.sessions, tickets, caps: new CapsProber(new CapsBook(), { timeoutMs: 1_000 }), migration: gw.migrations, log },
    });
    metricsServer = await startMetricsServer({ host: HOST, port: 0 }, metrics, { ready: () => Promise.resolve({ ok: true }) });
    client = new GatewayAdminClient(`${HOST}:${admin.port}`);
  }, 30_000);

  afterAll(async () => {
    client?.close();
    await admin?.close();
    await metricsServer?.close();
    await gw?.close();
    if (qemu) await stopQemu(qemu);
  });

  it('MintTicket → link → ListSessions shows bytes on main → KillSession cuts it, QEMU keeps running, one audit line', async () => {
    const before = Date.now();
    const t = await client.mintTicket({ user: 'alice', tenant: 'acme', groups: ['devs'], desktop: 'vd-1', upstream: upstream(), ttlSeconds: 120 });
    expect(t.ticket).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(t.ticketHash).toBe(createHash('sha256').update(t.ticket).digest('hex'));
    expect(Date.parse(t.expiresAt) - before).toBeGreaterThanOrEqual(119_000);
    expect(Date.parse(t.expiresAt) - before).toBeLessThan(125_000);

    const main = await openMain(gw!.port, t.ticket);
    const session = await until('main bytes in ListSessions', async () => {
      const [s] = await client.listSessions({ tenant: 'acme' });
      return s !== undefined && (s.channels[0]?.bytesToClient ?? 0n) > 0n ? s : undefined;
    });
    expect(session).toMatchObject({ sessionId: main.sessionId, user: 'alice', tenant: 'acme', desktop: 'acme/vd-1', transport: 'tcp', upstream: `${HOST}:${qemuPort}` });
    expect(session.key).toMatch(/^gs-/);
    expect(session.channels).toHaveLength(1);
    expect(session.channels[0]).toMatchObject({ channelType: ChannelType.MAIN, channelName: 'main', upstream: `${HOST}:${qemuPort}` });
    console.log(`main channel after link: ${session.channels[0]!.bytesToClient} bytes to client, ${session.channels[0]!.bytesToGuest} to guest`);
    expect(await client.listSessions({ tenant: 'globex' })).toEqual([]);
    expect((await client.listSessions({ user: 'alice' })).map((s) => s.key)).toEqual([session.key]);
    expect((await client.listSessions({ desktop: 'acme/vd-1' })).map((s) => s.key)).toEqual([session.key]);

    const killed = await client.killSession(session.key, 'abuse report 42');
    expect(killed?.key).toBe(session.key);
    await main.closed; // the gateway cut the client
    expect(await client.listSessions()).toEqual([]);
    expect((await grpcError(client.killSession(session.key))).code).toBe(status.NOT_FOUND);

    expect(qemu!.exitCode).toBeNull();
    expect((await probeSpiceLink({ host: HOST, port: qemuPort, password })).result).toBe(LinkError.OK); // QEMU still serves

    const audit = await until('the audit line', () => logs.find((l) => l.event === 'session.audit' && l.fields.session === session.key));
    expect(audit.fields).toMatchObject({ user: 'alice', tenant: 'acme', desktop: 'acme/vd-1', source: HOST, transport: 'tcp', reason: 'abuse report 42', migrations: { seamless: 0, fallback: 0 } });
    expect(audit.fields.bytesToClient).toBeGreaterThan(0);
    expect(Date.parse(audit.fields.endedAt as string)).toBeGreaterThanOrEqual(Date.parse(audit.fields.openedAt as string));
    expect(audit.fields.durationMs).toBeGreaterThanOrEqual(0);
    const everything = JSON.stringify(logs);
    expect(everything).not.toContain(t.ticket);
    expect(everything).not.toContain(password);
  });

  it('/metrics: the session gauge, bytes by tenant, an auth failure after a wrong ticket, link results and handshake times', async () => {
    const t = await client.mintTicket({ user: 'bob', tenant: 'globex', desktop: 'vd-2', upstream: upstream() });
    const main = await openMain(gw!.port, t.ticket);
    await until('globex main bytes', async () => ((await client.listSessions({ tenant: 'globex' }))[0]?.channels[0]?.bytesToClient ?? 0n) > 0n || undefined);
    let text = await scrape();
    expect(sample(text, 'deskplane_gateway_sessions{tenant="globex"}')).toBe(1);
    expect(sample(text, 'deskplane_gateway_bytes_total{tenant="globex",channel="main",direction="to_client"}')).toBeGreaterThan(0);
    expect(sample(text, 'deskplane_gateway_bytes_total{tenant="acme",channel="main",direction="to_client"}')).toBeGreaterThan(0); // the killed session's bytes stay counted
    expect(sample(text, 'deskplane_gateway_links_total{channel="main",result="ok"}')).toBe(2);
    expect(sample(text, 'deskplane_gateway_handshake_seconds_count{transport="tcp",channel="main"}')).toBe(2);

    const failures = sample(text, 'deskplane_gateway_auth_failures_total{reason="ticket"}');
    expect(await linkOverStream(connect({ host: HOST, port: gw!.port }), `x${randomBytes(16).toString('base64url')}`)).toBe(LinkError.PERMISSION_DENIED);
    text = await scrape();
    expect(sample(text, 'deskplane_gateway_auth_failures_total{reason="ticket"}')).toBe(failures + 1);
    expect(sample(text, 'deskplane_gateway_links_total{channel="main",result="permission_denied"}')).toBeGreaterThanOrEqual(1);

    main.socket.destroy();
    await until('the session to end', () => (gw!.sessions.size === 0 ? true : undefined));
    text = await scrape();
    expect(sample(text, 'deskplane_gateway_sessions{tenant="globex"}')).toBe(0);
    expect(text).toMatch(/^deskplane_gateway_sessions\{tenant="globex"\} 0$/m); // present at 0, not vanished
  });

  it('RevokeTicket: the ticket links nothing afterwards', async () => {
    const t = await client.mintTicket({ user: 'carol', tenant: 'acme', desktop: 'vd-3', upstream: upstream() });
    await client.revokeTicket(t.ticketHash);
    expect(await linkOverStream(connect({ host: HOST, port: gw!.port }), t.ticket)).toBe(LinkError.PERMISSION_DENIED);
  });

  it('refuses bad input (INVALID_ARGUMENT naming the field), an unreachable guest (UNAVAILABLE), a missing policy source (FAILED_PRECONDITION)', async () => {
    const bad = await grpcError(client.mintTicket({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { ...upstream(), port: 0 } }));
    expect([bad.code, bad.details]).toEqual([status.INVALID_ARGUMENT, 'upstream.port must be 1-65535, got 0']);
    const long = `${password}${'x'.repeat(60)}`;
    const tooLong = await grpcError(client.mintTicket({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { ...upstream(), password: long } }));
    expect(tooLong.code).toBe(status.INVALID_ARGUMENT);
    expect(tooLong.details).not.toContain(password);
    const cross = await grpcError(client.mintTicket({ user: 'alice', tenant: 'acme', desktop: 'globex/vd-1', upstream: upstream() }));
    expect([cross.code, cross.details]).toEqual([status.INVALID_ARGUMENT, 'desktop is in namespace "globex" but the tenant is "acme"']);

    const closedPort = await freePort(HOST);
    const unreachable = await grpcError(client.mintTicket({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { ...upstream(), port: closedPort } }));
    expect(unreachable.code).toBe(status.UNAVAILABLE);
    expect(unreachable.details).toContain(`${HOST}:${closedPort}`);
    expect(unreachable.details).not.toContain(password);

    expect((await grpcError(client.reloadPolicy())).code).toBe(status.FAILED_PRECONDITION);
    expect((await grpcError(client.killSession('gs-000000000000'))).code).toBe(status.NOT_FOUND);
    expect((await grpcError(client.revokeTicket('nothex'))).code).toBe(status.INVALID_ARGUMENT);
    const md = new Metadata();
    md.set('x-request-id', 'req-abc.1');
    const trailer = await new Promise<Metadata>((done) => {
      const call = client.raw.killSession({ key: 'gs-000000000001', reason: '' }, md, () => undefined);
      call.on('status', (s: StatusObject) => done(s.metadata));
    });
    expect(trailer.get('x-request-id')).toEqual(['req-abc.1']);
    expect(logs.find((l) => l.event === 'admin.call' && l.fields.requestId === 'req-abc.1')?.fields).toMatchObject({ method: 'KillSession', code: 'NOT_FOUND', session: 'gs-000000000001' });
    const calls = logs.filter((l) => l.event === 'admin.call').map((l) => `${String(l.fields.method)} ${String(l.fields.code)}`);
    expect(calls).toEqual(expect.arrayContaining(['MintTicket INVALID_ARGUMENT', 'MintTicket UNAVAILABLE', 'ReloadPolicy FAILED_PRECONDITION', 'KillSession NOT_FOUND']));
  });

  it('PrepareMigration / FinishMigration reach the gateway\'s migration control', async () => {
    // As the orchestrator calls it: no destination password (the guest keeps its own).
    const r = await client.prepareMigration({ desktop: 'acme/vd-404', destination: { host: HOST, port: qemuPort, password: '' }, timeoutMs: 500 });
    expect(r).toEqual({ sessions: 0, ready: 0, timedOut: false });
    await client.finishMigration('acme/vd-404', false);
  });
});

/** A CA, a server certificate for 127.0.0.1 / localhost, a client certificate, and one from another CA. */
function makePki(dir: string): void {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) run(['req', '-x509', ...key, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', `/CN=${ca}`, '-days', '1']);
  for (const [name, ca, ext] of [
    ['server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'],
    ['client', 'ca', 'extendedKeyUsage=clientAuth\n'],
    ['stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['req', '-new', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`]);
  }
}

describe('admin API over mutual TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-admin-mtls-'));
  const f = (name: string): string => join(dir, name);
  let admin: AdminServer | undefined;
  const sessions = { list: () => [], get: () => undefined, kill: () => false };
  const tickets = new MemoryTicketStore();
  // Dial the IP, verify the certificate's DNS name (SNI must not be an IP address).
  const channelOptions = { 'grpc.ssl_target_name_override': 'localhost' };

  beforeAll(async () => {
    makePki(dir);
    admin = await startAdminServer({ listen: { host: HOST, port: 0 }, tls: { certFile: f('server.crt'), keyFile: f('server.key'), clientCaFile: f('ca.crt') }, deps: { sessions, tickets } });
  });

  afterAll(async () => {
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a client whose certificate the CA signed; refuses one without a certificate or from another CA', async () => {
    const good = new GatewayAdminClient(`${HOST}:${admin!.port}`, { tls: { caFile: f('ca.crt'), certFile: f('client.crt'), keyFile: f('client.key') }, channelOptions });
    const stranger = new GatewayAdminClient(`${HOST}:${admin!.port}`, { tls: { caFile: f('ca.crt'), certFile: f('stranger.crt'), keyFile: f('stranger.key') }, channelOptions, deadlineMs: 5_000 });
    const plain = new GatewayAdminClient(`${HOST}:${admin!.port}`, { deadlineMs: 5_000 });
    try {
      expect(await good.listSessions()).toEqual([]);
      expect((await grpcError(stranger.listSessions())).code).toBe(status.UNAVAILABLE);
      expect((await grpcError(plain.listSessions())).code).toBe(status.UNAVAILABLE);
    } finally {
      for (const c of [good, stranger, plain]) c.close();
    }
  });

  it('names the certificate file it cannot read', async () => {
    await expect(startAdminServer({ listen: { host: HOST, port: 0 }, tls: { certFile: f('nope.crt'), keyFile: f('server.key'), clientCaFile: f('ca.crt') }, deps: { sessions, tickets } })).rejects.toThrow(
      `cannot read the admin TLS certificate ${f('nope.crt')}`,
    );
  });
});

describe('the deskplane-gateway process (main.ts)', () => {
  const root = resolve(__dirname, '../..');
  const spawnMain = (env: Record<string, string>): ChildProcess =>
    spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'gateway/src/main.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (child: ChildProcess): { out: () => string; exited: Promise<number | null> } => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    return { out: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  };

  it('starts from the environment, mints and links, reports ready, and exits 0 on SIGTERM with its ports closed', async () => {
    const [spice, adminPort, metricsPort, qemuPort] = [await freePort(HOST), await freePort(HOST), await freePort(HOST), await freePort(HOST)];
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const qemu = await startQemu(qemuPort, password);
    const child = spawnMain({
      DESKPLANE_GATEWAY_LISTEN: `${HOST}:${spice}`,
      DESKPLANE_GATEWAY_ADMIN_LISTEN: `${HOST}:${adminPort}`,
      DESKPLANE_GATEWAY_METRICS_LISTEN: `${HOST}:${metricsPort}`,
      DESKPLANE_GATEWAY_LOG_LEVEL: 'info',
    });
    const p = collect(child);
    const c = new GatewayAdminClient(`${HOST}:${adminPort}`);
    try {
      await until('readyz', async () => ((await fetch(`http://${HOST}:${metricsPort}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000);
      const t = await c.mintTicket({ user: 'dave', tenant: 'acme', desktop: 'vd-9', upstream: { host: HOST, port: qemuPort, password } });
      expect(await linkOverStream(connect({ host: HOST, port: spice }), t.ticket)).toBe(LinkError.OK);
      expect(await linkOverStream(connect({ host: HOST, port: spice }), 'wrong-ticket-wrong-ticket-wrong!')).toBe(LinkError.PERMISSION_DENIED);
      const text = await (await fetch(`http://${HOST}:${metricsPort}/metrics`)).text();
      expect(sample(text, 'deskplane_gateway_auth_failures_total{reason="ticket"}')).toBe(1);
      expect(sample(text, 'deskplane_gateway_admin_calls_total{method="MintTicket",code="OK"}')).toBe(1);
      expect(text).toContain('process_cpu_seconds_total'); // default process metrics in the gateway's own registry

      const open = await openMain(spice, (await c.mintTicket({ user: 'erin', tenant: 'acme', desktop: 'vd-10', upstream: { host: HOST, port: qemuPort, password } })).ticket);

      child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      await open.closed;
      const lines = p.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['gateway started', 'admin.call', 'link.refused', 'stopping']));
      // The session open at the stop is closed by it and still audited.
      expect(lines.find((l) => l.msg === 'session.audit' && l.user === 'erin')).toMatchObject({ desktop: 'acme/vd-10', reason: 'gateway stopping', sessionId: open.sessionId });
      expect(lines.find((l) => l.msg === 'gateway started')).toMatchObject({ service: 'gateway', level: 'info', spicePort: spice, adminPort, tickets: 'memory' });
      expect(p.out()).not.toContain(password);
      expect(p.out()).not.toContain(t.ticket);
      for (const port of [spice, adminPort, metricsPort]) expect(await canConnect(HOST, port, 500)).toBe(false);
    } finally {
      c.close();
      if (child.exitCode === null) child.kill('SIGKILL');
      await stopQemu(qemu);
    }
  }, 60_000);

  it('exits 2 naming the variable on a bad configuration', async () => {
    const child = spawnMain({ DESKPLANE_GATEWAY_ADMIN_LISTEN: '0.0.0.0:7444' });
    const p = collect(child);
    expect(await p.exited).toBe(2);
    expect(p.out()).toContain('deskplane-gateway: bad configuration: DESKPLANE_GATEWAY_ADMIN_LISTEN: 0.0.0.0 is not a loopback address');
  }, 30_000);
});
