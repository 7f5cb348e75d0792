import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/ports';
import { checkRedis } from '../src/redis';
import type { RedisState } from '../src/state';
import { loadState } from '../src/state-file';
import { restartRedis } from '../src/testbed';

describe('Redis (testbed)', () => {
  let redis: RedisState;
  const queueName = `smoke-${randomUUID()}`;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    const state = loadState();
    await checkRedis(state.redis); // fails fast naming Redis when it is not there
    redis = state.redis!;
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('runs a BullMQ job round trip', async () => {
    const connection = { host: redis.host, port: redis.port, maxRetriesPerRequest: null };
    const queue = new Queue(queueName, { connection });
    const events = new QueueEvents(queueName, { connection });
    const worker = new Worker(queueName, (job) => Promise.resolve({ doubled: (job.data as { n: number }).n * 2, by: 'worker' }), {
      connection,
    });
    closers.push(
      () => queue.obliterate({ force: true }).then(() => queue.close()),
      () => events.close(),
      () => worker.close(),
    );
    await events.waitUntilReady();
    const job = await queue.add('double', { n: 21 }, { jobId: 'uid-1:gen-1:double' });
    const result = (await job.waitUntilFinished(events, 30_000)) as unknown;
    expect(result).toEqual({ doubled: 42, by: 'worker' });

    // Same job id again: BullMQ dedupes, the contract later flows rely on for idempotency.
    const again = await queue.add('double', { n: 99 }, { jobId: 'uid-1:gen-1:double' });
    expect(again.id).toBe(job.id);
    expect(await queue.getJobCounts('completed')).toEqual({ completed: 1 });
  });

  it('names Redis when its process is gone', async () => {
    const dead: RedisState = { ...redis, process: { ...redis.process, pid: 2 ** 22 - 1 } };
    await expect(checkRedis(dead)).rejects.toThrow(/^Redis is not available: process \d+ is not running/);
  });

  it('names Redis when nothing answers on its port', async () => {
    const port = await freePort();
    const silent: RedisState = { ...redis, port, url: `redis://127.0.0.1:${port}` };
    const t0 = Date.now();
    await expect(checkRedis(silent)).rejects.toThrow(/^Redis is not available: no PONG from redis:\/\/127\.0\.0\.1:\d+/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('Redis restart (testbed)', () => {
  it('keeps queued jobs across a restart on the same port', async () => {
    const before = loadState().redis!;
    const connection = { host: before.host, port: before.port, maxRetriesPerRequest: null };
    const name = `restart-${randomUUID()}`;
    const queue = new Queue(name, { connection });
    try {
      await queue.add('keep-me', { n: 1 }, { jobId: 'survivor' });
      const after = (await restartRedis()).redis!;
      expect(after.port).toBe(before.port);
      expect(after.process.pid).not.toBe(before.process.pid);
      await checkRedis(after);
      const job = await queue.getJob('survivor');
      expect(job?.data).toEqual({ n: 1 });
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
  });
});
