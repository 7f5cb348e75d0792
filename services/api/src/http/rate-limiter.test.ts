import { describe, expect, it } from 'vitest';
import { TooManyRequests } from '../domain/errors';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows a burst of capacity, then refuses with the wait until one token is back', () => {
    let now = 0;
    const rl = new RateLimiter({ capacity: 3, refillPerSecond: 0.5, now: () => now });
    expect([rl.take('k'), rl.take('k'), rl.take('k')].map((t) => t.ok)).toEqual([true, true, true]);
    expect(rl.take('k')).toEqual({ ok: false, retryAfterSeconds: 2 });
    now += 1_000;
    expect(rl.take('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 1_000;
    expect(rl.take('k').ok).toBe(true);
    expect(rl.take('k').ok).toBe(false);
  });

  it('keeps keys apart', () => {
    const rl = new RateLimiter({ capacity: 1, refillPerSecond: 1, now: () => 0 });
    expect(rl.take('a').ok).toBe(true);
    expect(rl.take('a').ok).toBe(false);
    expect(rl.take('b').ok).toBe(true);
  });

  it('check looks without spending', () => {
    const rl = new RateLimiter({ capacity: 1, refillPerSecond: 1, now: () => 0 });
    expect(rl.check('a').ok).toBe(true);
    expect(rl.check('a').ok).toBe(true);
    rl.take('a');
    expect(rl.check('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('enforce throws TooManyRequests carrying Retry-After seconds', () => {
    const rl = RateLimiter.perMinute(1, { now: () => 0 });
    rl.enforce('u', 'too many consoles');
    let err: unknown;
    try {
      rl.enforce('u', 'too many consoles');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TooManyRequests);
    expect((err as TooManyRequests).retryAfterSeconds).toBe(60);
    expect((err as TooManyRequests).message).toBe('too many consoles; retry in 60 s');
  });

  it('stays bounded: idle keys are forgotten and the key count is capped', () => {
    let now = 0;
    const rl = new RateLimiter({ capacity: 2, refillPerSecond: 1, maxKeys: 100, now: () => now });
    for (let i = 0; i < 1_000; i++) rl.take(`ip:${i}`);
    expect(rl.trackedKeys).toBe(100);
    now += 10_000;
    rl.check('ip:999');
    expect(rl.trackedKeys).toBe(99);
  });

  it('rejects nonsense settings', () => {
    expect(() => new RateLimiter({ capacity: 0, refillPerSecond: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: 0 })).toThrow(RangeError);
  });
});
