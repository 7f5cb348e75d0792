/**
 * The audit stream end to end on the testbed's Redis: the gateway's writer (RedisAuditStream,
 * imported from its source as the gateway's own tests do) and this reader must agree on the
 * entry layout, filter, page and order the same way a real query will.
 */
import { randomBytes } from 'node:crypto';
import { SessionRegistry } from '@deskplane/gateway';
import { ChannelType } from '@deskplane/spice-protocol';
import { freePort, loadState } from '@deskplane/testbed';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisAuditStream, type AuditLine } from '@deskplane/gateway';
import { RedisAuditReader } from './redis-audit';

const url = loadState().redis?.url;
if (url === undefined) throw new Error('the testbed runs without Redis');
const prefix = `test:api-audit:${randomBytes(4).toString('hex')}`;
const clients: Redis[] = [];
const client = (u = url, opts: RedisOptions = {}): Redis => {
  const r = new Redis(u, { maxRetriesPerRequest: 1, ...opts });
  clients.push(r);
  return r;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const line = (i: number, over: Partial<AuditLine> = {}): AuditLine => ({
  session: `gs-${i}`, sessionId: i, user: `u${i % 3}`, tenant: `t${i % 2}`, desktop: `t${i % 2}/vd-${i % 5}`, policy: '',
  source: '127.0.0.1', transport: 'tcp', upstream: '127.0.1.1:5900', openedAt: new Date(Date.now() - 1000).toISOString(),
  endedAt: new Date().toISOString(), durationMs: 1000, bytesToClient: i * 10, bytesToGuest: i, reason: 'client closed',
  migrations: { seamless: i % 2, fallback: 0 }, ...over,
});

afterAll(async () => {
  const r = client();
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length > 0) await r.del(...keys);
  for (const c of clients) c.disconnect();
});

describe('audit stream: gateway writer → API reader (testbed Redis)', () => {
  const p = `${prefix}:main`;
  const redis = client();
  const stream = new RedisAuditStream(redis, { prefix: p });
  // batch 40: every query below pages through several XREVRANGE calls.
  const reader = new RedisAuditReader(redis, { prefix: p, batch: 40 });
  const written: AuditLine[] = [];

  it('returns what the gateway wrote, newest first, across pages, with the stream id', async () => {
    for (let i = 0; i < 150; i++) {
      written.push(line(i));
      stream.write(written[i]!);
    }
    await stream.flush();
    expect(await redis.xlen(stream.key)).toBe(150);
    expect(stream.key).toBe(reader.key);

    const newest = await reader.query({ limit: 10 });
    expect(newest.map((r) => r.session)).toEqual(written.slice(-10).reverse().map((l) => l.session));
    const { id, ...first } = newest[0]!;
    expect(first).toEqual(written[149]);
    expect(id).toMatch(/^\d+-\d+$/);
    const all = await reader.query({ limit: 1000 });
    expect(all).toHaveLength(150);
    expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((a, b) => cmpId(b, a)));
  });

  it('filters by tenant, user and desktop (alone and together) over the whole stream', async () => {
    const expectFor = (f: (l: AuditLine) => boolean): string[] => written.filter(f).reverse().map((l) => l.session);
    expect((await reader.query({ tenant: 't1', limit: 1000 })).map((r) => r.session)).toEqual(expectFor((l) => l.tenant === 't1'));
    expect((await reader.query({ user: 'u2', limit: 1000 })).map((r) => r.session)).toEqual(expectFor((l) => l.user === 'u2'));
    const both = await reader.query({ tenant: 't0', user: 'u1', desktop: 't0/vd-4', limit: 1000 });
    expect(both.map((r) => r.session)).toEqual(expectFor((l) => l.tenant === 't0' && l.user === 'u1' && l.desktop === 't0/vd-4'));
    expect(both.length).toBeGreaterThan(0);
    // limit stops the scan at the newest matches.
    expect((await reader.query({ tenant: 't1', limit: 3 })).map((r) => r.session)).toEqual(expectFor((l) => l.tenant === 't1').slice(0, 3));
    expect(await reader.query({ tenant: 'nobody', limit: 5 })).toEqual([]);
    // Another tenant's desktop name under the wrong tenant matches nothing.
    expect(await reader.query({ tenant: 't1', desktop: 't0/vd-4', limit: 5 })).toEqual([]);
  });

  it('since: only sessions that ended at or after it, whatever order they reached the stream', async () => {
    await sleep(20);
    const since = new Date();
    const late = line(1000, { endedAt: new Date(since.getTime() + 5).toISOString() });
    // Written after `since` but ended before it (a slow replica): not in the result.
    const stale = line(1001, { endedAt: new Date(since.getTime() - 5000).toISOString() });
    stream.write(late);
    stream.write(stale);
    await stream.flush();
    expect((await reader.query({ since, limit: 100 })).map((r) => r.session)).toEqual(['gs-1000']);
    expect((await reader.query({ since: new Date(Date.now() + 60_000), limit: 100 }))).toEqual([]);
  });

  it('skips entries of another layout or damaged ones, and keeps reading', async () => {
    await redis.xadd(stream.key, '*', 'v', '2', 'tenant', 't9', 'user', 'x', 'desktop', 't9/a', 'line', '{}');
    await redis.xadd(stream.key, '*', 'v', '1', 'tenant', 't9', 'user', 'x', 'desktop', 't9/a', 'line', '{"session":');
    await redis.xadd(stream.key, '*', 'v', '1', 'tenant', 't9', 'user', 'x', 'desktop', 't9/a', 'line', JSON.stringify({ ...line(7), tenant: 't9', sessionId: 'seven' }));
    stream.write(line(2000, { tenant: 't9', user: 'x', desktop: 't9/a' }));
    await stream.flush();
    expect((await reader.query({ tenant: 't9', limit: 10 })).map((r) => r.session)).toEqual(['gs-2000']);
  });

  it('refuses a bad limit or date instead of guessing', async () => {
    await expect(reader.query({ limit: 0 })).rejects.toThrow(RangeError);
    await expect(reader.query({ limit: 2.5 })).rejects.toThrow(RangeError);
    await expect(reader.query({ limit: 1, since: new Date('nope') })).rejects.toThrow(/since/);
  });

  it('a session that ends in the gateway registry becomes one entry', async () => {
    const registry = new SessionRegistry();
    const stop = stream.attach(registry);
    const key = registry.open({ sessionId: 5, user: 'carol', tenant: 'acme', desktop: 'acme/vd-9', source: '192.0.2.1', transport: 'connect', upstream: 'h:1', policy: 'gold' });
    const ch = registry.attach(key, { channelType: ChannelType.MAIN, channelId: 0, upstream: 'h:1', transport: 'connect' }, () => undefined);
    registry.count(key, ch, 4096, 64);
    registry.detach(key, ch, 'client closed');
    stop();
    await stream.flush();
    const [r] = await reader.query({ user: 'carol', limit: 5 });
    expect(r).toMatchObject({ session: key, tenant: 'acme', desktop: 'acme/vd-9', policy: 'gold', transport: 'connect', bytesToClient: 4096, bytesToGuest: 64, reason: 'client closed' });
  });
});

describe('audit stream: trimming and Redis faults', () => {
  it('keeps the stream near MAXLEN (~: Redis trims whole nodes, never below it)', async () => {
    const redis = client();
    const stream = new RedisAuditStream(redis, { prefix: `${prefix}:trim`, maxLen: 100 });
    for (let i = 0; i < 1000; i++) stream.write(line(i));
    await stream.flush();
    const len = await redis.xlen(stream.key);
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(300);
    // The newest survive.
    expect((await new RedisAuditReader(redis, { prefix: `${prefix}:trim` }).query({ limit: 1 }))[0]?.session).toBe('gs-999');
  });

  it('Redis unreachable: the write is logged as failed and never throws; a query rejects', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const redis = client(dead, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => undefined); // the refused connect is the point here
    const failures: Record<string, unknown>[] = [];
    const stream = new RedisAuditStream(redis, { prefix, log: (event, fields) => event === 'audit.stream-failed' && failures.push(fields) });
    stream.write(line(1));
    await stream.flush();
    expect(failures).toEqual([expect.objectContaining({ session: 'gs-1', key: `${prefix}:audit` })]);
    await expect(new RedisAuditReader(redis, { prefix }).query({ limit: 1 })).rejects.toThrow();
  });
});

function cmpId(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}
