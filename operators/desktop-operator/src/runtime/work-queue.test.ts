import { afterEach, describe, expect, it, vi } from 'vitest';
import { Controller, TerminalError } from './controller';
import { RateLimiter } from './rate-limiter';
import { WorkQueue } from './work-queue';

afterEach(() => {
  vi.useRealTimers();
});

describe('WorkQueue', () => {
  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands a key in progress to a second worker, and requeues it when done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a'); // an update arrives while a worker holds the key
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first!);
    await Promise.resolve();
    expect(second).toBe('a');
  });

  it('keeps the earliest of two delayed adds', () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    q.addAfter('a', 5000);
    vi.advanceTimersByTime(1000);
    expect(q.length).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(q.length).toBe(1);
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const pending = q.get();
    q.shutdown();
    expect(await pending).toBeUndefined();
  });
});

describe('RateLimiter', () => {
  it('backs off one key exponentially and resets on forget', () => {
    const r = new RateLimiter({ baseDelayMs: 10, maxDelayMs: 100, qps: 1000, burst: 1000 });
    expect([r.when('k'), r.when('k'), r.when('k'), r.when('k'), r.when('k')]).toEqual([10, 20, 40, 80, 100]);
    expect(r.when('other')).toBe(10);
    r.forget('k');
    expect(r.when('k')).toBe(10);
  });

  it('spaces out a storm across many keys with the token bucket', () => {
    let now = 0;
    const r = new RateLimiter({ baseDelayMs: 1, maxDelayMs: 1000, qps: 10, burst: 2 }, () => now);
    const delays = ['a', 'b', 'c', 'd'].map((k) => r.when(k));
    expect(delays).toEqual([1, 1, 100, 200]);
    now = 10_000; // the bucket refills over time
    expect(r.when('e')).toBe(1);
  });
});

describe('Controller', () => {
  it('retries a failing key with backoff until it succeeds, then forgets its failures', async () => {
    let calls = 0;
    const outcomes: string[] = [];
    const c = new Controller(
      'test',
      async (_key, ctx) => {
        calls++;
        if (ctx.retries < 2) throw new Error('flaky');
        return Promise.resolve();
      },
      { workers: 1, queue: new WorkQueue(new RateLimiter({ baseDelayMs: 1, maxDelayMs: 10, qps: 1000, burst: 1000 })), hooks: { onReconciled: (e) => outcomes.push(e.outcome) } },
    );
    c.start();
    c.enqueue('ns/a');
    await vi.waitFor(() => expect(outcomes).toEqual(['error', 'error', 'success']));
    expect(calls).toBe(3);
    expect(c.queue.rateLimiter.retries('ns/a')).toBe(0);
    await c.stop();
  });

  it('stops retrying on a TerminalError', async () => {
    const outcomes: string[] = [];
    const c = new Controller('test', () => Promise.reject(new TerminalError('bad spec')), {
      workers: 1,
      hooks: { onReconciled: (e) => outcomes.push(e.outcome) },
    });
    c.start();
    c.enqueue('ns/a');
    await vi.waitFor(() => expect(outcomes).toEqual(['terminal']));
    await new Promise((r) => setTimeout(r, 50));
    expect(outcomes).toEqual(['terminal']);
    await c.stop();
  });

  it('runs different keys in parallel but one key on one worker at a time', async () => {
    let active = 0;
    let maxActiveSameKey = 0;
    const perKey = new Map<string, number>();
    const c = new Controller(
      'test',
      async (key) => {
        active++;
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        maxActiveSameKey = Math.max(maxActiveSameKey, perKey.get(key)!);
        await new Promise((r) => setTimeout(r, 5));
        perKey.set(key, perKey.get(key)! - 1);
        active--;
      },
      { workers: 4 },
    );
    c.start();
    for (let i = 0; i < 50; i++) c.enqueue(`k${i % 3}`);
    await vi.waitFor(() => expect(c.queue.length + c.queue.inFlight).toBe(0));
    expect(maxActiveSameKey).toBe(1);
    expect(active).toBe(0);
    await c.stop();
  });

  it('requeues after the delay a reconcile asks for', async () => {
    let calls = 0;
    const c = new Controller('test', () => Promise.resolve(++calls < 3 ? { requeueAfterMs: 5 } : {}), { workers: 1 });
    c.start();
    c.enqueue('a');
    await vi.waitFor(() => expect(calls).toBe(3));
    await c.stop();
  });
});
