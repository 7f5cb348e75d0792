import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('starts full: the burst passes without waiting, the next byte waits', () => {
    const t = 0;
    const b = new TokenBucket(1000, 500, () => t);
    expect(b.take(500)).toBe(0);
    expect(b.available).toBe(0);
    expect(b.take(1)).toBe(1); // 1 byte at 1000 B/s
  });

  it('goes into debt and returns the time to repay it', () => {
    let t = 0;
    const b = new TokenBucket(1000, 100, () => t);
    expect(b.take(600)).toBe(500); // 500 bytes of debt at 1000 B/s
    t = 250;
    expect(b.waitMs()).toBe(250);
    t = 500;
    expect(b.waitMs()).toBe(0);
    expect(b.available).toBe(0);
  });

  it('never holds more than the burst however long it idles', () => {
    let t = 0;
    const b = new TokenBucket(1000, 300, () => t);
    b.take(300);
    t = 60_000;
    expect(b.available).toBe(300);
  });

  it('shapes a long run of chunks to the rate exactly', () => {
    let t = 0;
    const b = new TokenBucket(250_000, 16_384, () => t);
    let sent = 0;
    while (t < 10_000) {
      sent += 65_536;
      t += b.take(65_536);
    }
    // Over 10 s: rate × time + the burst + at most the one chunk taken when t crossed 10 s.
    expect(sent).toBeGreaterThanOrEqual(250_000 * 10 + 16_384 - 65_536);
    expect(sent).toBeLessThanOrEqual(250_000 * 10 + 16_384 + 65_536);
  });

  it('waitMs(position) counts only the debt taken up to that place', () => {
    const t = 0;
    const b = new TokenBucket(1000, 100, () => t);
    b.take(600); // 500 in debt
    const first = b.position;
    b.take(300); // 800 in debt, 300 of it behind `first`
    expect(b.waitMs(first)).toBe(500);
    expect(b.waitMs()).toBe(800);
    expect(b.waitMs(0)).toBe(0);
  });

  it('setRate credits what was earned at the old rate and keeps the debt', () => {
    let t = 0;
    const b = new TokenBucket(1000, 1000, () => t);
    b.take(3000); // 2000 in debt
    t = 1000; // +1000 at the old rate → 1000 in debt
    b.setRate(4000, 1000);
    expect(b.waitMs()).toBe(250);
    b.setRate(500);
    expect(b.waitMs()).toBe(2000);
    expect(b.rateBytesPerSec).toBe(500);
  });

  it('setRate with a smaller burst cuts a full balance down to it', () => {
    const b = new TokenBucket(1000, 10_000, () => 0);
    b.setRate(1000, 2000);
    expect(b.available).toBe(2000);
    expect(b.burstBytes).toBe(2000);
  });

  it('ignores a clock that steps backwards', () => {
    let t = 1000;
    const b = new TokenBucket(1000, 100, () => t);
    b.take(100);
    t = 0;
    expect(b.available).toBe(0);
    t = 1050;
    expect(b.available).toBe(50);
  });

  it('refuses a zero, negative or infinite rate (unlimited means no bucket)', () => {
    expect(() => new TokenBucket(0, 10)).toThrow(RangeError);
    expect(() => new TokenBucket(Infinity, 10)).toThrow(/rate must be a positive finite number, got Infinity/);
    expect(() => new TokenBucket(10, -1)).toThrow(/burst/);
    expect(() => new TokenBucket(10, 10).setRate(Number.NaN)).toThrow(RangeError);
  });
});
