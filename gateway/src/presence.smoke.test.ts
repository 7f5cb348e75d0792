/**
 * Presence against the real Redis of the testbed, with real sessions: the gateway process
 * (main.ts, Redis ticket store) in front of a real QEMU SPICE server, sessions opened and
 * closed by a SPICE client, the records read back with the operator's reader. Faults use
 * real parts too: a Redis port nobody listens on, and a redis-server of our own frozen
 * with SIGSTOP (a slow Redis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { ChannelType, MiniFrameDecoder, ServerLinkDecoder, decodeMainInit } from '@deskplane/spice-protocol';
import { clientLinkMessage, freePort, loadState, ticketAnswer } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPresenceReader } from '../../operators/desktop-operator/src/activity/presence';
import { GatewayAdminClient } from './admin';
import { startGateway, type Gateway } from './index';
import { LAST_SESSION_END_TTL_MS, PRESENCE_TTL_MS, PresenceWriter, lastSessionEndKey, presenceHeartbeatKey, presenceKey } from './presence';
import { MemoryTicketStore } from './tickets';
import { HOST, startQemu, stopQemu } from '../test/support/qemu';

const MAIN_INIT = 103;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A SPICE client's main channel through the gateway, kept open until destroyed. */
function openMain(port: number, ticket: string): Promise<{ socket: Socket; linkedMs: number }> {
  const started = Date.now();
  return new Promise((done, reject) => {
    const socket = connect({ host: HOST, port });
    const link = new ServerLinkDecoder();
    const frames = new MiniFrameDecoder();
    let linked = false;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('no MAIN_INIT within 10 s')), 10_000);
    const onFrames = (chunk: Buffer): void => {
      const init = frames.feed(chunk).find((f) => f.type === MAIN_INIT);
      if (init === undefined || settled) return;
      decodeMainInit(init.payload);
      settled = true;
      clearTimeout(timer);
      done({ socket, linkedMs: Date.now() - started });
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('closed before MAIN_INIT')));
    socket.on('connect', () => socket.write(clientLinkMessage(ChannelType.MAIN)));
    socket.on('data', (chunk: Buffer) => {
      if (linked) return onFrames(chunk);
      for (const msg of link.feed(chunk)) {
        if (msg.kind === 'linkReply') for (const part of ticketAnswer(msg, ticket)) socket.write(part);
        else if (msg.result !== 0) return fail(new Error(`link result ${msg.result}`));
        else {
          linked = true;
          const rest = link.takeRemainder();
          if (rest.length > 0) onFrames(rest);
        }
      }
    });
  });
}

const redisUrl = (): string => {
  const url = loadState().redis?.url;
  if (url === undefined) throw new Error('the testbed runs without Redis');
  return url;
};

describe('gateway presence in Redis', () => {
  const prefix = `test:presence:${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const desktop = 'acme/vd-presence';
  const root = resolve(__dirname, '../..');
  let redis: Redis;
  let reader: RedisPresenceReader;
  let qemu: ChildProcess | undefined;
  let qemuPort = 0;
  const children: ChildProcess[] = [];

  /** The gateway as deployed: main.ts with the Redis ticket store (presence on). */
  async function startMain(): Promise<{ child: ChildProcess; spice: number; admin: GatewayAdminClient; out: () => string }> {
    const [spice, adminPort] = [await freePort(HOST), await freePort(HOST)];
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'gateway/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DESKPLANE_GATEWAY_LISTEN: `${HOST}:${spice}`,
        DESKPLANE_GATEWAY_ADMIN_LISTEN: `${HOST}:${adminPort}`,
        DESKPLANE_GATEWAY_METRICS_LISTEN: 'off',
        DESKPLANE_GATEWAY_TICKET_STORE: redisUrl(),
        DESKPLANE_GATEWAY_TICKET_KEY: randomBytes(32).toString('base64'),
        DESKPLANE_GATEWAY_TICKET_PREFIX: prefix,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    await until('gateway started', () => (out.includes('gateway started') ? true : child.exitCode !== null ? Promise.reject(new Error(out)) : undefined), 30_000);
    return { child, spice, admin: new GatewayAdminClient(`${HOST}:${adminPort}`), out: () => out };
  }

  const ticketFor = async (admin: GatewayAdminClient): Promise<string> =>
    (await admin.mintTicket({ user: 'alice', tenant: 'acme', desktop, upstream: { host: HOST, port: qemuPort, password } })).ticket;
  const members = async (): Promise<string[]> => redis.zrange(presenceKey(prefix, desktop), '0', '-1', 'WITHSCORES');

  beforeAll(async () => {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    reader = new RedisPresenceReader(redis, prefix);
    qemuPort = await freePort(HOST);
    qemu = await startQemu(qemuPort, password);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (qemu) await stopQemu(qemu);
    // SCAN, never KEYS, on the shared Redis.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  });

  it('a real session is announced with its registry key, and its end removes it and records the end', async () => {
    const gw = await startMain();
    try {
      const hb = await until('heartbeat', async () => (await redis.get(presenceHeartbeatKey(prefix))) ?? undefined);
      expect(Number(hb)).toBeGreaterThan(Date.now() - 10_000);
      expect(await redis.pttl(presenceHeartbeatKey(prefix))).toBeGreaterThan(PRESENCE_TTL_MS - 10_000);

      const before = Date.now();
      const { socket } = await openMain(gw.spice, await ticketFor(gw.admin));
      const [session] = await gw.admin.listSessions();
      expect(session?.desktop).toBe(desktop);
      const zset = await until('presence member', async () => ((await members()).length > 0 ? members() : undefined));
      expect(zset[0]).toBe(session!.key);
      expect(Number(zset[1])).toBeGreaterThanOrEqual(before + PRESENCE_TTL_MS);
      expect(Number(zset[1])).toBeLessThanOrEqual(Date.now() + PRESENCE_TTL_MS);
      expect(await redis.pttl(presenceKey(prefix, desktop))).toBeGreaterThan(LAST_SESSION_END_TTL_MS - 60_000);

      const open = await reader.read([desktop, 'acme/other'], Date.now());
      expect(open.watchingSince).toBe(Number(hb));
      expect(open.desktops.get(desktop)).toEqual({ open: 1 });
      expect(open.desktops.get('acme/other')).toEqual({ open: 0 });

      const closedAt = Date.now();
      socket.destroy();
      await until('member removed', async () => ((await members()).length === 0 ? true : undefined));
      const end = Number(await redis.get(lastSessionEndKey(prefix, desktop)));
      expect(end).toBeGreaterThanOrEqual(closedAt);
      expect(end).toBeLessThanOrEqual(Date.now());
      expect(await redis.pttl(lastSessionEndKey(prefix, desktop))).toBeGreaterThan(LAST_SESSION_END_TTL_MS - 60_000);
      expect(await reader.read([desktop], Date.now())).toMatchObject({ desktops: new Map([[desktop, { open: 0, lastEndedAt: end }]]) });

      // A session still open when the gateway is stopped (SIGTERM) is ended in Redis before it disconnects.
      await openMain(gw.spice, await ticketFor(gw.admin));
      await until('member of the second session', async () => ((await members()).length > 0 ? true : undefined));
      const stoppedAt = Date.now();
      const exited = new Promise<number | null>((r) => gw.child.once('exit', (code) => r(code)));
      gw.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await members()).toEqual([]);
      expect(Number(await redis.get(lastSessionEndKey(prefix, desktop)))).toBeGreaterThanOrEqual(stoppedAt);
    } finally {
      gw.admin.close();
      if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGKILL');
    }
  }, 60_000);

  it('a gateway killed without closing its sessions leaves an entry that expires by score, and the heartbeat lapses', async () => {
    await until('previous gateway gone', () => (children.every((c) => c.exitCode !== null || c.signalCode !== null) ? true : undefined), 15_000);
    await redis.del(lastSessionEndKey(prefix, desktop));
    const gw = await startMain();
    let expiry = 0;
    try {
      await openMain(gw.spice, await ticketFor(gw.admin));
      const zset = await until('presence member', async () => ((await members()).length > 0 ? members() : undefined));
      expiry = Number(zset[1]);
    } finally {
      gw.admin.close();
      gw.child.kill('SIGKILL');
    }
    expect((await reader.read([desktop], Date.now())).desktops.get(desktop)).toEqual({ open: 1 });
    // The member stays (nobody removed it) but stops counting once its score is past.
    await until('entry expired', async () => ((await reader.read([desktop], Date.now())).desktops.get(desktop)?.open === 0 ? true : undefined), PRESENCE_TTL_MS + 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiry);
    expect(await members()).toHaveLength(2);
    const after = await reader.read([desktop], Date.now());
    expect(after.desktops.get(desktop)).toEqual({ open: 0, lastEndedAt: expiry });
    await until('heartbeat lapsed', async () => ((await reader.read([desktop], Date.now())).watchingSince === undefined ? true : undefined), 20_000);
  }, 120_000);
});

describe('presence never holds a session up', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  let qemu: ChildProcess | undefined;
  let qemuPort = 0;
  let redisServer: ChildProcess | undefined;

  beforeAll(async () => {
    qemuPort = await freePort(HOST);
    qemu = await startQemu(qemuPort, password);
  });

  /** Our own redis-server (never the testbed's), woken and killed by its PID. */
  async function killOwnRedis(): Promise<void> {
    const r = redisServer;
    if (r?.pid === undefined || r.exitCode !== null || r.signalCode !== null) return;
    const gone = new Promise((done) => r.once('exit', done));
    process.kill(r.pid, 'SIGCONT');
    process.kill(r.pid, 'SIGKILL');
    await gone;
  }

  afterAll(async () => {
    if (qemu) await stopQemu(qemu);
    await killOwnRedis();
  });

  async function gatewayWith(client: Redis): Promise<{ gw: Gateway; writer: PresenceWriter; tickets: MemoryTicketStore; logs: string[] }> {
    const tickets = new MemoryTicketStore();
    const logs: string[] = [];
    const writer = new PresenceWriter({ redis: client, prefix: 'test:presence-fault', log: (event, f) => logs.push(`${event} ${String(f.op)}`) });
    const gw = await startGateway({ listen: { host: HOST, port: 0 }, tickets });
    writer.attach(gw.sessions);
    writer.start();
    return { gw, writer, tickets, logs };
  }
  const mint = async (tickets: MemoryTicketStore): Promise<string> =>
    (await tickets.mint({ user: 'bob', tenant: 'acme', desktop: 'acme/vd-fault', upstream: { host: HOST, port: qemuPort, password }, ttlMs: 60_000 })).ticket;

  it('with Redis down, sessions open and close as usual and every failed write is counted', async () => {
    const client = new Redis({ host: HOST, port: await freePort(HOST), maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => 200 });
    client.on('error', () => undefined); // refused connections are the point here
    const { gw, writer, tickets, logs } = await gatewayWith(client);
    try {
      const { socket, linkedMs } = await openMain(gw.port, await mint(tickets));
      expect(linkedMs).toBeLessThan(3_000);
      expect(gw.sessions.size).toBe(1);
      socket.destroy();
      await until('session ended', () => (gw.sessions.size === 0 ? true : undefined));
      await writer.flush();
      const failed: Record<string, number> = Object.fromEntries((await writer.failures.get()).values.map((v) => [String(v.labels.op), v.value]));
      expect(failed).toMatchObject({ open: 1, close: 1 });
      expect(failed.refresh ?? 0).toBeGreaterThanOrEqual(1);
      expect(logs).toEqual(expect.arrayContaining(['presence.write-failed open', 'presence.write-failed close']));
    } finally {
      await gw.close();
      await writer.stop();
      client.disconnect();
    }
  }, 60_000);

  it('with Redis frozen (slow), a session still links at once; the writes land when it wakes', async () => {
    const port = await freePort(HOST);
    redisServer = spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const client = new Redis({ host: HOST, port, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined); // refused until redis-server listens
    await until('own redis', async () => ((await client.ping().catch(() => undefined)) === 'PONG' ? true : undefined), 10_000);
    const { gw, writer, tickets } = await gatewayWith(client);
    try {
      // start()'s own first refresh must be done, or it is the one left waiting on the frozen Redis.
      await writer.flush();
      process.kill(redisServer.pid!, 'SIGSTOP');
      const { socket, linkedMs } = await openMain(gw.port, await mint(tickets));
      expect(linkedMs).toBeLessThan(3_000);
      expect(gw.sessions.size).toBe(1);
      // A refresh waiting for the frozen Redis: the next one is not stacked behind it.
      const stuck = writer.refresh();
      expect(await writer.refresh()).toBe(false);
      process.kill(redisServer.pid!, 'SIGCONT');
      expect(await stuck).toBe(true);
      await writer.flush();
      const [key] = gw.sessions.list().map((s) => s.key);
      expect(await client.zrange('test:presence-fault:presence:acme/vd-fault', '0', '-1')).toEqual([key]);
      socket.destroy();
      await until('session ended', () => (gw.sessions.size === 0 ? true : undefined));
      await writer.flush();
      expect(await client.zcard('test:presence-fault:presence:acme/vd-fault')).toBe(0);
      expect(Number(await client.get('test:presence-fault:last-session-end:acme/vd-fault'))).toBeGreaterThan(0);
      expect((await writer.failures.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    } finally {
      await gw.close();
      await writer.stop();
      await killOwnRedis();
      client.disconnect();
    }
  }, 60_000);
});
