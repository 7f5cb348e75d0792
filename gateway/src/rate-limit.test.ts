import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit';

describe('FailureLimiter', () => {
  it('blocks a key after maxFailures within the window, per key, and forgets after the window', () => {
    let t = 0;
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 60_000, now: () => t });
    for (let i = 0; i < 2; i++) limiter.recordFailure('10.0.0.1');
    expect(limiter.isBlocked('10.0.0.1')).toBe(false);
    limiter.recordFailure('10.0.0.1');
    expect(limiter.isBlocked('10.0.0.1')).toBe(true);
    expect(limiter.isBlocked('10.0.0.2')).toBe(false);
    t += 60_000;
    expect(limiter.isBlocked('10.0.0.1')).toBe(false);
    expect(limiter.trackedKeys).toBe(0);
  });

  it('slides: old failures fall out one by one', () => {
    let t = 0;
    const limiter = new FailureLimiter({ maxFailures: 2, windowMs: 1_000, now: () => t });
    limiter.recordFailure('a');
    t = 600;
    limiter.recordFailure('a');
    expect(limiter.isBlocked('a')).toBe(true);
    t = 1_000;
    expect(limiter.isBlocked('a')).toBe(false);
  });

  it('keeps at most maxKeys keys (the least recently failing go first)', () => {
    const limiter = new FailureLimiter({ maxFailures: 1, maxKeys: 2, now: () => 0 });
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    limiter.recordFailure('c');
    expect(limiter.trackedKeys).toBe(2);
    expect(limiter.isBlocked('a')).toBe(false);
    expect(limiter.isBlocked('c')).toBe(true);
  });
});
