import { randomBytes } from 'node:crypto';
import { loadState } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTicketStoreContract } from '../src/ticket-store.contract';
import { RedisTicketStore } from '../src/tickets-redis';
import { ROUTE_TTL_MS, type MintRequest } from '../src/tickets';

function redisUrl(): string {
  const url = loadState().redis?.url;
  if (url === undefined) throw new Error('the testbed runs without Redis');
  return url;
}

/** Every key under `prefix`, by SCAN (never KEYS on a shared Redis). */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

const runPrefix = `test:gw-tickets:${randomBytes(4).toString('hex')}`;
const sharedKey = randomBytes(32);
const clients: Redis[] = [];
const client = (): Redis => {
  const r = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  clients.push(r);
  return r;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  const admin = client();
  const left = await keysUnder(admin, runPrefix);
  if (left.length > 0) await admin.del(...left);
  expect(await keysUnder(admin, runPrefix)).toEqual([]);
  const quitting: Promise<unknown>[] = [];
  for (const c of clients) {
    if (c.status === 'ready') quitting.push(c.quit());
    else c.disconnect();
  }
  await Promise.all(quitting);
});

// Each replica has its own connection: the race goes through Redis, not through one client's queue.
describeTicketStoreContract({
  name: 'redis (real, two+ replicas)',
  open: (n, opts) =>
    Promise.resolve(
      Array.from({ length: n }, () => new RedisTicketStore({ redis: client(), prefix: `${runPrefix}:contract`, key: sharedKey, routeTtlMs: opts.routeTtlMs })),
    ),
  now: () => Date.now(),
  advance: sleep,
  close: async () => {
    const admin = client();
    const left = await keysUnder(admin, `${runPrefix}:contract`);
    if (left.length > 0) await admin.del(...left);
  },
});

describe('RedisTicketStore: what lies in Redis', () => {
  const prefix = `${runPrefix}:layout`;
  let admin: Redis;
  let store: RedisTicketStore;
  const password = `guest-${randomBytes(8).toString('hex')}`;
  const req: MintRequest = {
    user: 'alice', tenant: 'acme', desktop: 'vd-1', ttlMs: 60_000, groups: ['eng'], policy: 'p1',
    upstream: { host: '10.0.0.7', port: 5901, password },
  };

  beforeAll(() => {
    admin = client();
    store = new RedisTicketStore({ redis: client(), prefix, key: sharedKey });
  });

  it('keeps one hash under the ticket\'s sha256, with neither the ticket nor the password in clear', async () => {
    const { ticket, ticketHash } = await store.mint(req);
    expect(await keysUnder(admin, prefix)).toEqual([`${prefix}:ticket:${ticketHash}`]);
    const raw = await admin.hgetall(store.recordKey(ticketHash));
    const dump = JSON.stringify(raw);
    expect(dump).not.toContain(ticket);
    expect(dump).not.toContain(password);
    expect(raw.password).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    expect(raw).toMatchObject({ user: 'alice', host: '10.0.0.7', port: '5901', groups: '["eng"]', policy: 'p1' });
    await store.revoke(ticketHash);
    expect(await keysUnder(admin, prefix)).toEqual([]);
  });

  it('PEXPIRE = TTL; PERSIST while bound; back to its own expiry (not a fresh TTL) on unbind', async () => {
    const { ticketHash, expiresAt } = await store.mint(req);
    const k = store.recordKey(ticketHash);
    const ttl = await admin.pttl(k);
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await store.bind(ticketHash, 11)).toBe(true);
    expect(await admin.pttl(k)).toBe(-1);
    await sleep(300);
    await store.unbind(ticketHash, 11);
    const after = await admin.pttl(k);
    expect(after).toBeGreaterThan(expiresAt - Date.now() - 100);
    expect(after).toBeLessThanOrEqual(60_000 - 300);
    expect(await admin.hexists(k, 'sessionId')).toBe(0);
    await store.revoke(ticketHash);
  });

  it('keeps a route for a day, sealed', async () => {
    await store.setRoute('vd-9', { host: '10.0.0.8', port: 5907, password });
    const k = store.routeKey('vd-9');
    expect((await admin.get(k)) ?? '').not.toContain(password);
    expect(await admin.pttl(k)).toBeGreaterThan(ROUTE_TTL_MS - 5_000);
    expect(await store.route('vd-9')).toEqual({ host: '10.0.0.8', port: 5907, password });
    await store.clearRoute('vd-9');
    expect(await admin.exists(k)).toBe(0);
  });

  it('a replica with another key cannot read records; one given the old key as previous can', async () => {
    const { ticket, ticketHash } = await store.mint(req);
    await store.setRoute('vd-rot', req.upstream);
    const stranger = new RedisTicketStore({ redis: client(), prefix, key: randomBytes(32) });
    await expect(stranger.redeem(ticket)).rejects.toThrow(/key [0-9a-f]{8} is not configured/);
    await expect(stranger.route('vd-rot')).rejects.toThrow(/not configured/);
    const rotated = new RedisTicketStore({ redis: client(), prefix, key: randomBytes(32), previousKeys: [sharedKey] });
    expect((await rotated.redeem(ticket))?.upstream.password).toBe(password);
    expect((await rotated.route('vd-rot'))?.password).toBe(password);
    await store.revoke(ticketHash);
    await store.clearRoute('vd-rot');
  });

  it('refuses a sealed password moved from another record or tampered with', async () => {
    const one = await store.mint(req);
    const two = await store.mint(req);
    const sealed = await admin.hget(store.recordKey(one.ticketHash), 'password');
    await admin.hset(store.recordKey(two.ticketHash), 'password', sealed!);
    await expect(store.redeem(two.ticket)).rejects.toThrow(/does not authenticate/);
    const flipped = sealed!.slice(0, -2) + (sealed!.endsWith('AA') ? 'BB' : 'AA');
    await admin.hset(store.recordKey(one.ticketHash), 'password', flipped);
    await expect(store.redeem(one.ticket)).rejects.toThrow(/does not authenticate/);
    await admin.hdel(store.recordKey(one.ticketHash), 'port');
    await expect(store.redeem(one.ticket)).rejects.toThrow(/bad port/);
    await store.revoke(one.ticketHash);
    await store.revoke(two.ticketHash);
  });

  it('a replica whose Redis is gone fails loudly instead of answering "unknown ticket"', async () => {
    const dead = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    dead.on('error', () => undefined);
    const orphan = new RedisTicketStore({ redis: dead, prefix, key: sharedKey });
    await expect(orphan.redeem('whatever')).rejects.toThrow();
    await expect(orphan.bind('h', 1)).rejects.toThrow();
    dead.disconnect();
  });
});
