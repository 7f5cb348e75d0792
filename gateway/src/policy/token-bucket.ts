/**
 * A token bucket measured in bytes that may go into debt: a chunk that has already been
 * read is forwarded whole, and the debt it leaves tells the reader how long to stay
 * paused. Shaping by debt keeps the long-run rate exact without splitting chunks.
 * Unlimited is "no bucket", never a bucket with an infinite rate.
 */
export class TokenBucket {
  private rate: number;
  private burst: number;
  private balance: number;
  private last: number;
  private taken = 0;

  constructor(
    rateBytesPerSec: number,
    burstBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    checkPositive('rate', rateBytesPerSec);
    checkPositive('burst', burstBytes);
    this.rate = rateBytesPerSec;
    this.burst = burstBytes;
    this.balance = burstBytes;
    this.last = now();
  }

  get rateBytesPerSec(): number {
    return this.rate;
  }

  get burstBytes(): number {
    return this.burst;
  }

  /** Bytes available now; negative while in debt. */
  get available(): number {
    this.refill();
    return this.balance;
  }

  /** Bytes taken since creation: a taker's place in the queue of debt. */
  get position(): number {
    return this.taken;
  }

  /** Consumes n bytes (into debt if need be); returns the ms until the balance is back to ≥ 0. */
  take(n: number): number {
    this.refill();
    this.balance -= n;
    this.taken += n;
    return this.msToRepay(-this.balance);
  }

  /**
   * The ms until every byte taken up to `position` (default: all of them) is repaid,
   * consuming nothing. Takers sharing a bucket wait for their own place, not for debt
   * taken after them, so they are served in turn instead of the quickest one winning.
   */
  waitMs(position = this.taken): number {
    this.refill();
    return this.msToRepay(-this.balance - (this.taken - position));
  }

  /**
   * Changes the rate (and optionally the burst) from now on. Tokens earned so far are
   * credited at the old rate first, and debt is kept, so a change never forgives bytes
   * already sent nor charges twice for them.
   */
  setRate(rateBytesPerSec: number, burstBytes = this.burst): void {
    checkPositive('rate', rateBytesPerSec);
    checkPositive('burst', burstBytes);
    this.refill();
    this.rate = rateBytesPerSec;
    this.burst = burstBytes;
    this.balance = Math.min(this.balance, burstBytes);
  }

  private refill(): void {
    const t = this.now();
    // A clock stepping backwards must not mint or burn tokens.
    if (t > this.last) this.balance = Math.min(this.burst, this.balance + ((t - this.last) * this.rate) / 1000);
    this.last = Math.max(this.last, t);
  }

  private msToRepay(debt: number): number {
    return debt <= 0 ? 0 : Math.ceil((debt * 1000) / this.rate);
  }
}

function checkPositive(what: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`token bucket ${what} must be a positive finite number, got ${v}`);
}
