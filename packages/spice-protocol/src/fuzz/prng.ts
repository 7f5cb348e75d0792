/**
 * A small seeded PRNG (32-bit state, splitmix-style output mixing): the same seed replays
 * the same inputs, so a failure reported as "seed S, iteration I" can be reproduced
 * exactly. Not for cryptography.
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }

  /** Integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  bytes(n: number): Buffer {
    const buf = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) buf[i] = this.u32() & 0xff;
    return buf;
  }

  /** An independent stream for iteration `i`, so one input can be replayed without the ones before it. */
  fork(i: number): Prng {
    return new Prng((Math.imul(this.seed ^ 0x5bd1e995, 0x01000193) + Math.imul(i, 0x9e3779b9)) >>> 0);
  }
}
