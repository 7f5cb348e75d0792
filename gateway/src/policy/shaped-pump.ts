import type { Duplex } from 'node:stream';
import type { TokenBucket } from './token-bucket';

/** Why a pump holds its source: over budget, or the destination's buffer is full. */
export type HoldReason = 'budget' | 'drain';

export interface ShapedPumpOptions {
  /** Asked on every chunk and every wake-up, so a changed policy applies to open channels. */
  buckets: () => readonly TokenBucket[];
  onBytes(n: number): void;
  /** Schedules fn after ms; returns its cancel. Default setTimeout (tests inject their own). */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

export interface ShapedPump {
  stop(): void;
  /** Why the source is held right now (empty while flowing): for metrics and tests. */
  holding(): ReadonlySet<HoldReason>;
}

/**
 * Longest single sleep. A budget wait is re-checked at least this often, so a raised or
 * removed limit frees a channel within this time even if its last chunk left a debt
 * that would take minutes to repay at the old rate.
 */
export const MAX_SLEEP_MS = 250;

const defaultTimer = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

/**
 * Copies src → dst chunk by chunk. Every chunk is charged to every bucket after it is
 * written; when that leaves any bucket in debt, src is paused until the debt up to this
 * chunk is repaid in all of them (channels sharing a bucket take turns). dst's backpressure (write() false) pauses src until 'drain'. src resumes only
 * when neither reason holds it, so at most the one chunk that crossed the budget is ever
 * in flight beyond it, and a slow reader stops the socket instead of growing a buffer.
 * `end` on src ends dst; errors and close are the caller's (it tears both down).
 */
export function shapedPump(src: Duplex, dst: Duplex, opts: ShapedPumpOptions): ShapedPump {
  const setTimer = opts.setTimer ?? defaultTimer;
  const holds = new Set<HoldReason>();
  let cancelTimer: (() => void) | undefined;
  let stopped = false;

  const hold = (r: HoldReason): void => {
    holds.add(r);
    src.pause();
  };
  const release = (r: HoldReason): void => {
    holds.delete(r);
    if (!stopped && holds.size === 0) src.resume();
  };
  // Our place in each bucket's debt: waking up, we wait for the debt up to our last chunk
  // only. Waiting for the whole debt would let whichever channel sharing the bucket
  // reads first win every round and starve the others.
  let places = new Map<TokenBucket, number>();
  const largestWait = (): number => {
    let wait = 0;
    for (const b of opts.buckets()) {
      let place = places.get(b);
      // A bucket we have not paid into yet (a new limit, or the first chunk): queue behind its debt.
      if (place === undefined) places.set(b, (place = b.position));
      wait = Math.max(wait, b.waitMs(place));
    }
    return wait;
  };
  const sleep = (ms: number): void => {
    hold('budget');
    cancelTimer?.();
    cancelTimer = setTimer(
      () => {
        cancelTimer = undefined;
        if (stopped) return;
        const wait = largestWait();
        if (wait > 0) sleep(wait);
        else release('budget');
      },
      Math.min(ms, MAX_SLEEP_MS),
    );
  };

  const onDrain = (): void => release('drain');
  const onData = (chunk: Buffer): void => {
    const flowing = dst.write(chunk);
    opts.onBytes(chunk.length);
    let wait = 0;
    const buckets = opts.buckets();
    if (buckets.length === 0 && places.size === 0) {
      if (!flowing && !holds.has('drain')) {
        hold('drain');
        dst.once('drain', onDrain);
      }
      return;
    }
    places = new Map();
    for (const b of buckets) {
      wait = Math.max(wait, b.take(chunk.length));
      places.set(b, b.position);
    }
    if (wait > 0) sleep(wait);
    if (!flowing && !holds.has('drain')) {
      hold('drain');
      dst.once('drain', onDrain);
    }
  };
  const onEnd = (): void => {
    dst.end();
  };

  src.on('data', onData);
  src.on('end', onEnd);
  const owed = largestWait();
  if (owed > 0) sleep(owed);
  else src.resume();

  return {
    stop(): void {
      if (stopped) return;
      stopped = true;
      cancelTimer?.();
      cancelTimer = undefined;
      src.removeListener('data', onData);
      src.removeListener('end', onEnd);
      dst.removeListener('drain', onDrain);
      src.pause();
    },
    holding: () => new Set(holds),
  };
}
