import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { API_VERSION } from '@deskplane/api';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import type { KubeObject } from '@deskplane/resource-store';
import { LinkError, ServerLinkDecoder } from '@deskplane/spice-protocol';
import { canConnect, clientLinkMessage, loadState, probeSpiceLink, ticketAnswer } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseAuditStreamEntry, type AuditLine } from '@deskplane/gateway';
import { startLocal, verifyPassword, type IdpUsersFile } from '../src';

const ROOT = join(__dirname, '../../..');
const poll = { timeout: 180_000, interval: 500 };

/** Runs the local run's entry point until every desktop is Running (it exits then). */
function runLocal(dataDir: string, redisPrefix: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    // As testbed/bin/local runs it: the API's decorators need its tsconfig.
    const child = spawn('node', ['--conditions=source', '--import', 'tsx', join(ROOT, 'services/local/src/main.ts')], {
      cwd: ROOT,
      // Drift repair off: this run shares the testbed's hosts with other suites' guests.
      env: {
        ...process.env, DESKPLANE_LOCAL_DIR: dataDir, DESKPLANE_LOCAL_EXIT_WHEN_RUNNING: '1', DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS: '0',
        DESKPLANE_LOCAL_REDIS_PREFIX: redisPrefix, DESKPLANE_LOCAL_GATEWAY_LISTEN: '127.0.0.1:0', DESKPLANE_LOCAL_GATEWAY_CONNECT_LISTEN: '127.0.0.1:0',
        DESKPLANE_LOCAL_API_LISTEN: '127.0.0.1:0', DESKPLANE_LOCAL_GATEWAY_WS_LISTEN: '127.0.0.1:0', TSX_TSCONFIG_PATH: join(ROOT, 'services/api/tsconfig.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const virsh = (uri: string, args: string[]): Promise<string> =>
  new Promise((resolve) => execFile('virsh', ['-q', '-c', uri, ...args], (_e, stdout) => resolve(stdout)));

/** A main channel linked through the gateway and kept open (the session lives while it does). */
function holdMainChannel(host: string, port: number, ticket: string): Promise<{ result: number; received: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const decoder = new ServerLinkDecoder();
    let received = 0;
    let linked = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no link result (${decoder.currentState})`));
    }, 10_000);
    const done = (result: number): void => {
      clearTimeout(timer);
      if (result !== LinkError.OK) socket.destroy();
      resolve({ result, received: () => received, close: () => socket.destroy() });
    };
    socket.on('connect', () => socket.write(clientLinkMessage()));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      if (linked) return void (received += chunk.length);
      for (const msg of decoder.feed(chunk)) {
        if (msg.kind === 'linkResult') {
          linked = true;
          received += decoder.takeRemainder().length; // the channel's first bytes may share the chunk
          return done(msg.result);
        }
        if (msg.error !== LinkError.OK) return done(msg.error);
        for (const b of ticketAnswer(msg, ticket)) socket.write(b);
      }
    });
  });
}

describe('the one-command local run', () => {
  const state = loadState();
  // Under the testbed's state dir: every simulated host sees it at the same path.
  const dataDir = join(state.stateDir, `local-e2e-${randomBytes(3).toString('hex')}`);
  const redisPrefix = `test-local-${randomBytes(4).toString('hex')}`;
  let demoPassword = '';

  afterAll(async () => {
    // Remove the demo guest this run made (its disk lives in dataDir).
    for (const h of state.hosts) {
      for (const name of (await virsh(h.libvirtUri, ['list', '--all', '--name'])).split('\n').map((s) => s.trim()).filter(Boolean)) {
        const xml = await virsh(h.libvirtUri, ['dumpxml', '--inactive', name]);
        if (!xml.includes(dataDir)) continue;
        await virsh(h.libvirtUri, ['destroy', name]);
        await virsh(h.libvirtUri, ['undefine', name]);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    // Queues and the audit stream of this run's prefix.
    const redis = new Redis(state.redis!.url, { maxRetriesPerRequest: 1 });
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  });

  it('creates the demo desktop and shows it running with the gateway and demo logins, then finds it all again on a second start', async () => {
    const first = await runLocal(dataDir, redisPrefix);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('created VirtualDesktop demo/demo-desktop');
    expect(first.out).toMatch(/demo\/demo-desktop\s+Running\s+host-\d\s+spice:\/\/127\.0\.\d+\.\d+:\d+/);
    expect(first.out).toMatch(/gateway\s+spice:\/\/127\.0\.0\.1:\d+\s+\(HTTP CONNECT proxy 127\.0\.0\.1:\d+\)\s+browser consoles ws:\/\/127\.0\.0\.1:\d+\/spice\s+admin 127\.0\.0\.1:\d+/);
    expect(first.out).toMatch(/API\s+http:\/\/127\.0\.0\.1:\d+\s+\(OpenAPI http:\/\/127\.0\.0\.1:\d+\/docs/);
    expect(readdirSync(join(dataDir, 'storage')).some((f) => f.endsWith('.qcow2'))).toBe(true);
    const passwords = Object.fromEntries([...first.out.matchAll(/^\s+(demo|demo-admin|ops)\s+password (\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    expect(Object.keys(passwords).sort()).toEqual(['demo', 'demo-admin', 'ops']);
    demoPassword = passwords.demo!;
    // The printed password is the one the IdP's users file verifies; nothing else is.
    const users = (JSON.parse(readFileSync(join(dataDir, 'identity', 'users.json'), 'utf8')) as IdpUsersFile).users;
    const demo = users.find((u) => u.username === 'demo')!;
    expect(demo).toMatchObject({ tenant: 'demo', roles: ['user'] });
    expect(await verifyPassword(demoPassword, demo.passwordHash)).toBe(true);
    expect(await verifyPassword(passwords.ops!, demo.passwordHash)).toBe(false);

    const second = await runLocal(dataDir, redisPrefix);
    expect(second.code, second.out).toBe(0);
    expect(second.out).not.toContain('created VirtualDesktop');
    expect(second.out).not.toContain('wrote the demo users');
    expect(second.out).toMatch(/demo\/demo-desktop\s+Running/);
    expect(second.out).toMatch(new RegExp(`^\\s+demo\\s+password ${demoPassword}\\s`, 'm'));
    expect(existsSync(join(dataDir, 'store', 'store.jsonl'))).toBe(true);
  });

  it('in process: the gateway takes the demo desktop\'s tickets, applies its policies, follows a live migration, and audits ended sessions to Redis', async () => {
    const events: string[] = [];
    const local = await startLocal({
      testbed: state, dataDir, redisPrefix, driftIntervalMs: 0, log: (m) => events.push(m),
      gateway: { listen: { host: '127.0.0.1', port: 0 }, connectListen: { host: '127.0.0.1', port: 0 } },
    });
    const gw = local.gateway;
    const desktop = 'demo/demo-desktop';
    let guestPassword = '(not read)';
    try {
      expect(gw.hooks.graphicsUri).toBe(`spice://127.0.0.1:${gw.port}`);
      // The password the first start printed (or made, when this test runs alone) is still the one.
      const kept = (JSON.parse(readFileSync(join(dataDir, 'identity', 'demo-credentials.json'), 'utf8')) as Record<string, string>).demo;
      expect(local.identity.credentials.find((c) => c.username === 'demo')?.password).toBe(demoPassword || kept);

      // The gateway reads DesktopPolicies from the run's own store and marks them applied.
      const policies = local.store.client<KubeObject & { status?: { conditions?: { type: string; status: string; reason?: string }[] } }>(RESOURCE_TYPES.DesktopPolicy);
      await policies.create({ apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name: 'demo-users', namespace: 'demo' }, spec: { subjects: { users: ['demo'] }, maxConcurrentSessions: 2 } });
      await vi.waitFor(async () => {
        const p = await policies.get('demo-users', 'demo');
        expect(p?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
      }, poll);

      const upstream = await vi.waitFor(() => gw.upstreamOf('demo', 'demo-desktop'), poll);
      guestPassword = upstream.password;
      const mint = () => gw.mintTicket({ user: 'demo', tenant: 'demo', desktop, upstream, ttlMs: 60_000 });
      expect((await probeSpiceLink({ host: gw.host, port: gw.port, password: (await mint()).ticket })).result).toBe(LinkError.OK);
      expect((await probeSpiceLink({ host: gw.host, port: gw.port, password: 'A'.repeat(32) })).result).toBe(LinkError.PERMISSION_DENIED);
      // The guest's real password is not a ticket: the gateway refuses it.
      expect((await probeSpiceLink({ host: gw.host, port: gw.port, password: upstream.password })).result).toBe(LinkError.PERMISSION_DENIED);

      // A session that lives, then ends: one entry in the audit stream.
      const held = await holdMainChannel(gw.host, gw.port, (await mint()).ticket);
      expect(held.result).toBe(LinkError.OK);
      await vi.waitFor(() => expect(gw.gateway.sessions.list({ desktop })).toHaveLength(1), poll);
      const key = gw.gateway.sessions.list({ desktop })[0]!.key;
      // The guest's main channel (MAIN_INIT, its bandwidth pings) reaches the client through the splice.
      await vi.waitFor(() => expect(held.received()).toBeGreaterThan(0), { timeout: 10_000, interval: 100 });
      held.close();
      const redis = local.redis;
      const record = await vi.waitFor(async () => {
        const entries = await redis.xrevrange(gw.auditKey, '+', '-', 'COUNT', 50);
        const line = entries.map(([, f]) => parseAuditStreamEntry(f)).find((l): l is AuditLine => l?.session === key);
        expect(line).toBeDefined();
        return line!;
      }, { timeout: 15_000, interval: 200 });
      expect(gw.auditKey).toBe(`${redisPrefix}:gateway:audit`);
      expect(record).toMatchObject({ user: 'demo', tenant: 'demo', desktop, policy: 'demo-users', transport: 'tcp', upstream: `${upstream.host}:${upstream.port}` });
      expect(record.bytesToClient).toBeGreaterThanOrEqual(held.received());

      // A live migration through the orchestrator's hooks: the gateway routes the desktop to the destination.
      const desktops = local.store.client<KubeObject & { status?: { host?: string } }>(RESOURCE_TYPES.VirtualDesktop);
      const from = (await desktops.get('demo-desktop', 'demo'))!.status!.host!;
      const to = state.hosts.map((h) => h.name).find((h) => h !== from)!;
      const migrations = local.store.client<KubeObject & { status?: { phase?: string } }>(RESOURCE_TYPES.DesktopMigration);
      await migrations.create({ apiVersion: API_VERSION, kind: 'DesktopMigration', metadata: { name: 'local-e2e-move', namespace: 'demo' }, spec: { desktopName: 'demo-desktop', targetHost: to } });
      await vi.waitFor(async () => expect((await migrations.get('local-e2e-move', 'demo'))?.status?.phase).toMatch(/Succeeded|Failed|Aborted/), poll);
      expect((await migrations.get('local-e2e-move', 'demo'))?.status?.phase).toBe('Succeeded');
      const moved = await vi.waitFor(async () => {
        const u = await gw.upstreamOf('demo', 'demo-desktop');
        expect(`${u.host}:${u.port}`).not.toBe(`${upstream.host}:${upstream.port}`);
        return u;
      }, poll);
      expect(await gw.tickets.route(desktop)).toMatchObject({ host: moved.host, port: moved.port });
      expect(readFileSync(join(dataDir, 'logs', 'gateway.log'), 'utf8')).toMatch(/"event":"migration.finish","desktop":"demo\/demo-desktop","succeeded":true/);
      const after = await gw.mintTicket({ user: 'demo', tenant: 'demo', desktop, upstream: moved, ttlMs: 60_000 });
      expect((await probeSpiceLink({ host: gw.host, port: gw.port, password: after.ticket })).result).toBe(LinkError.OK);
    } finally {
      await local.close();
    }
    // Stopped means stopped: nothing listens on the gateway's ports any more.
    expect(await canConnect('127.0.0.1', gw.port)).toBe(false);
    expect(await canConnect('127.0.0.1', gw.connectPort!)).toBe(false);
    const gatewayLog = readFileSync(join(dataDir, 'logs', 'gateway.log'), 'utf8');
    expect(gatewayLog).toContain('"event":"session.audit"');
    expect(gatewayLog).not.toContain(guestPassword);
  });
});
