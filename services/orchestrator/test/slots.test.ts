/** The Redis migration slots against the testbed's Redis: limits per source host and cluster-wide, leases that expire. */
import { randomBytes } from 'node:crypto';
import { loadState } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMigrationSlots } from '../src/slots';

describe('migration slots on Redis', () => {
  let redis: Redis;
  const prefix = `slots-${randomBytes(3).toString('hex')}`;
  beforeAll(() => {
    const s = loadState();
    redis = new Redis({ host: s.redis!.host, port: s.redis!.port });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('at most 2 out of one host and 5 in the cluster; re-acquiring by the same holder is idempotent', async () => {
    const slots = new RedisMigrationSlots(redis, { perHostOutbound: 2, global: 5 }, { prefix: `${prefix}:a` });
    expect(await slots.acquire('j1', 'h1')).toBe(true);
    expect(await slots.acquire('j2', 'h1')).toBe(true);
    expect(await slots.acquire('j3', 'h1')).toBe(false); // host full
    expect(await slots.acquire('j1', 'h1')).toBe(true); // same holder (a re-run job)
    for (const [j, h] of [['j4', 'h2'], ['j5', 'h2'], ['j6', 'h3']] as const) expect(await slots.acquire(j, h)).toBe(true);
    expect(await slots.acquire('j7', 'h3')).toBe(false); // cluster full (5)
    expect((await slots.holders()).sort()).toEqual(['j1', 'j2', 'j4', 'j5', 'j6']);
    await slots.release('j4', 'h2');
    expect(await slots.acquire('j7', 'h3')).toBe(true);
    expect(await slots.holders('h3')).toHaveLength(2);
  });

  it('a holder that stops renewing (a killed worker) loses its slot when the lease expires', async () => {
    const slots = new RedisMigrationSlots(redis, { perHostOutbound: 1, global: 5 }, { prefix: `${prefix}:b`, ttlMs: 1_000 });
    expect(await slots.acquire('dead', 'h1')).toBe(true);
    expect(await slots.acquire('next', 'h1')).toBe(false);
    await new Promise((r) => setTimeout(r, 600));
    expect(await slots.renew('dead', 'h1')).toBe(true); // renewed: still held past the first TTL
    await new Promise((r) => setTimeout(r, 600));
    expect(await slots.acquire('next', 'h1')).toBe(false);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await slots.acquire('next', 'h1')).toBe(true);
  });

  it('a drain-sized burst never runs more than the limits at once (timeline)', async () => {
    const slots = new RedisMigrationSlots(redis, { perHostOutbound: 2, global: 5 }, { prefix: `${prefix}:c` });
    const timeline: Array<{ t: number; holder: string; host: string; op: 'acquire' | 'release' }> = [];
    const jobs = Array.from({ length: 15 }, (_, i) => ({ holder: `m${i}`, host: `h${i % 4}` }));
    await Promise.all(
      jobs.map(async ({ holder, host }) => {
        while (!(await slots.acquire(holder, host))) await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
        timeline.push({ t: performance.now(), holder, host, op: 'acquire' });
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 30));
        timeline.push({ t: performance.now(), holder, host, op: 'release' });
        await slots.release(holder, host);
      }),
    );
    let global = 0;
    let maxGlobal = 0;
    const perHost = new Map<string, number>();
    let maxHost = 0;
    for (const e of timeline) {
      const d = e.op === 'acquire' ? 1 : -1;
      global += d;
      perHost.set(e.host, (perHost.get(e.host) ?? 0) + d);
      maxGlobal = Math.max(maxGlobal, global);
      maxHost = Math.max(maxHost, perHost.get(e.host)!);
    }
    console.log(`15 migrations over 4 hosts: at most ${maxGlobal} at once in the cluster, ${maxHost} per host`);
    expect(maxGlobal).toBeLessThanOrEqual(5);
    expect(maxHost).toBeLessThanOrEqual(2);
    expect(maxGlobal).toBe(5);
  });
});
