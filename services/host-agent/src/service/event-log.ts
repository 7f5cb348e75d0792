import { OutOfRangeError } from '../errors';

/**
 * A bounded, sequenced log of events with resumable subscriptions.
 *
 * Sequences start at 1 and increase by one per event. The log keeps the last `retention`
 * events in a ring. A subscriber holds only a cursor (the last sequence it was given) and
 * pulls from the ring while its sink accepts; it never has a private queue, so a slow
 * stream costs nothing until it falls more than `retention` events behind — then the log
 * ends it with OUT_OF_RANGE and the caller relists. Because replay and live tail read the
 * same ring through the same cursor, a resumed subscriber sees every event after its
 * position exactly once, in order, with no gap between backlog and tail.
 */

export interface Sequenced<T> {
  sequence: number;
  event: T;
}

export interface EventSink<T> {
  /** Takes one event; returns false to pause until `Subscription.resume()` is called. */
  write(e: Sequenced<T>): boolean;
  /** The log ended the subscription: the subscriber fell out of the retained window. */
  fail(err: OutOfRangeError): void;
}

export interface Subscription {
  /** The sink can take more (e.g. the gRPC stream drained). */
  resume(): void;
  close(): void;
  /** Sequence of the last event given to the sink. */
  readonly position: number;
}

export const DEFAULT_EVENT_RETENTION = 10_000;

export class EventLog<T> {
  private readonly ring: (Sequenced<T> | undefined)[];
  private last = 0;
  private readonly subs = new Set<Sub<T>>();

  constructor(readonly retention: number = DEFAULT_EVENT_RETENTION) {
    if (!Number.isInteger(retention) || retention < 1) throw new RangeError(`event retention must be a positive integer, got ${retention}`);
    this.ring = new Array<Sequenced<T> | undefined>(retention);
  }

  /** Sequence of the newest event; 0 when none yet. */
  get lastSequence(): number {
    return this.last;
  }

  /** Sequence of the oldest retained event; lastSequence + 1 when the log is empty. */
  get firstSequence(): number {
    return Math.max(1, this.last - this.retention + 1);
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  append(event: T): Sequenced<T> {
    const entry = { sequence: ++this.last, event };
    this.ring[(entry.sequence - 1) % this.retention] = entry;
    for (const sub of [...this.subs]) sub.pump();
    return entry;
  }

  /**
   * Every retained event after `afterSequence`. Throws OutOfRangeError when events after
   * that position are no longer retained, or when the position is ahead of the log (the
   * agent restarted and its sequence began again).
   */
  since(afterSequence: number): Sequenced<T>[] {
    this.checkPosition(afterSequence);
    const out: Sequenced<T>[] = [];
    for (let s = afterSequence + 1; s <= this.last; s++) out.push(this.at(s));
    return out;
  }

  /**
   * Replays the retained events after `afterSequence` into the sink, then tails. 0 means
   * "from now" (no replay). Throws OutOfRangeError synchronously like `since`.
   */
  subscribe(afterSequence: number, sink: EventSink<T>): Subscription {
    const start = afterSequence === 0 ? this.last : afterSequence;
    this.checkPosition(start);
    const sub = new Sub(this, sink, start);
    this.subs.add(sub);
    sub.pump();
    return sub;
  }

  /** @internal */
  at(sequence: number): Sequenced<T> {
    const e = this.ring[(sequence - 1) % this.retention];
    if (e?.sequence !== sequence) throw new Error(`event ${sequence} is not retained`);
    return e;
  }

  /** @internal */
  drop(sub: Sub<T>): void {
    this.subs.delete(sub);
  }

  private checkPosition(after: number): void {
    if (!Number.isSafeInteger(after) || after < 0) throw new OutOfRangeError(`after_sequence ${after} is not a valid position`);
    if (after > this.last) {
      throw new OutOfRangeError(
        `after_sequence ${after} is ahead of this agent's event log (last is ${this.last}): the agent restarted; relist with ListGuests and watch from 0`,
      );
    }
    if (after + 1 < this.firstSequence) {
      throw new OutOfRangeError(
        `events after ${after} are no longer retained (oldest kept is ${this.firstSequence}, the agent keeps ${this.retention}); relist with ListGuests and watch from 0`,
      );
    }
  }
}

class Sub<T> implements Subscription {
  private paused = false;
  private closed = false;
  private pumping = false;

  constructor(
    private readonly log: EventLog<T>,
    private readonly sink: EventSink<T>,
    private cursor: number,
  ) {}

  get position(): number {
    return this.cursor;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.log.drop(this);
  }

  pump(): void {
    if (this.closed || this.pumping) return;
    if (this.cursor + 1 < this.log.firstSequence) {
      this.close();
      this.sink.fail(
        new OutOfRangeError(
          `this stream fell more than ${this.log.retention} events behind (it had seen up to ${this.cursor}); relist with ListGuests and watch again`,
        ),
      );
      return;
    }
    if (this.paused) return;
    this.pumping = true;
    try {
      while (!this.closed && !this.paused && this.cursor < this.log.lastSequence) {
        const next = this.log.at(this.cursor + 1);
        this.cursor = next.sequence;
        if (!this.sink.write(next)) this.paused = true;
      }
    } finally {
      this.pumping = false;
    }
  }
}
