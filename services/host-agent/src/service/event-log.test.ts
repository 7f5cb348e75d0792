import { describe, expect, it } from 'vitest';
import { OutOfRangeError } from '../errors';
import { EventLog, type EventSink, type Sequenced } from './event-log';

/** A sink that records what it got; `capacity` writes before it asks to pause. */
function sink(capacity = Infinity): EventSink<string> & { got: number[]; failed?: OutOfRangeError; budget: number } {
  const s = {
    got: [] as number[],
    failed: undefined as OutOfRangeError | undefined,
    budget: capacity,
    write(e: Sequenced<string>) {
      s.got.push(e.sequence);
      s.budget--;
      return s.budget > 0;
    },
    fail(err: OutOfRangeError) {
      s.failed = err;
    },
  };
  return s;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('EventLog', () => {
  it('numbers events from 1', () => {
    const log = new EventLog<string>(10);
    expect(log.lastSequence).toBe(0);
    expect(log.append('a')).toEqual({ sequence: 1, event: 'a' });
    expect(log.append('b').sequence).toBe(2);
    expect(log.since(0).map(e => e.event)).toEqual(['a', 'b']);
    expect(log.since(1).map(e => e.event)).toEqual(['b']);
    expect(log.since(2)).toEqual([]);
  });

  it('keeps the last N events; an older position is OUT_OF_RANGE with advice', () => {
    const log = new EventLog<string>(3);
    for (const e of 'abcde') log.append(e);
    expect(log.firstSequence).toBe(3);
    expect(log.since(2).map(e => e.sequence)).toEqual([3, 4, 5]);
    expect(() => log.since(1)).toThrow(OutOfRangeError);
    expect(() => log.since(1)).toThrow(/events after 1 are no longer retained \(oldest kept is 3, the agent keeps 3\); relist with ListGuests/);
  });

  it('a position ahead of the log (agent restarted) is OUT_OF_RANGE', () => {
    const log = new EventLog<string>(3);
    log.append('a');
    expect(() => log.since(7)).toThrow(/after_sequence 7 is ahead of this agent's event log \(last is 1\): the agent restarted/);
    expect(() => log.subscribe(7, sink())).toThrow(OutOfRangeError);
  });

  it('subscribe(0) tails from now', () => {
    const log = new EventLog<string>(10);
    log.append('old');
    const s = sink();
    log.subscribe(0, s);
    log.append('new');
    expect(s.got).toEqual([2]);
  });

  it('resume replays the backlog then tails, with no gap and no duplicate', () => {
    const log = new EventLog<string>(100);
    for (let i = 0; i < 10; i++) log.append(`e${i}`);
    const s = sink();
    const sub = log.subscribe(4, s);
    expect(s.got).toEqual(range(5, 10));
    for (let i = 0; i < 5; i++) log.append(`f${i}`);
    expect(s.got).toEqual(range(5, 15));
    expect(sub.position).toBe(15);
    sub.close();
    log.append('after close');
    expect(s.got).toEqual(range(5, 15));
    expect(log.subscriberCount).toBe(0);
  });

  it('events appended while a sink writes (re-entrantly) are delivered once, in order', () => {
    const log = new EventLog<string>(100);
    const got: number[] = [];
    log.subscribe(0, {
      write: e => {
        got.push(e.sequence);
        if (e.sequence < 5) log.append(`from-sink-${e.sequence}`);
        return true;
      },
      fail: () => undefined,
    });
    log.append('first');
    expect(got).toEqual([1, 2, 3, 4, 5]);
  });

  it('a paused (slow) subscriber holds only a cursor and catches up on resume', () => {
    const log = new EventLog<string>(10);
    const s = sink(2);
    const sub = log.subscribe(0, s);
    for (let i = 0; i < 6; i++) log.append(`e${i}`);
    expect(s.got).toEqual([1, 2]);
    s.budget = Infinity;
    sub.resume();
    expect(s.got).toEqual(range(1, 6));
  });

  it('a subscriber that lags more than the retention is ended with OUT_OF_RANGE at once', () => {
    const log = new EventLog<string>(5);
    const s = sink(1);
    log.subscribe(0, s);
    for (let i = 0; i < 6; i++) log.append(`e${i}`);
    // it took #1 then paused at 1; after #6 the oldest kept is 2: still in range
    expect(s.failed).toBeUndefined();
    log.append('e6'); // oldest kept becomes 3: event 2 is gone
    expect(s.failed).toBeInstanceOf(OutOfRangeError);
    expect(s.failed?.message).toMatch(/fell more than 5 events behind \(it had seen up to 1\); relist/);
    expect(log.subscriberCount).toBe(0);
  });

  it('many subscribers at different positions each see a contiguous sequence', () => {
    const log = new EventLog<string>(1000);
    const sinks = [sink(), sink(), sink()];
    log.subscribe(0, sinks[0]!);
    for (let i = 0; i < 50; i++) log.append(`e${i}`);
    log.subscribe(20, sinks[1]!);
    for (let i = 0; i < 50; i++) log.append(`e${i}`);
    log.subscribe(99, sinks[2]!);
    log.append('last');
    expect(sinks[0]!.got).toEqual(range(1, 101));
    expect(sinks[1]!.got).toEqual(range(21, 101));
    expect(sinks[2]!.got).toEqual([100, 101]);
  });

  it('refuses a retention below 1', () => {
    expect(() => new EventLog(0)).toThrow(RangeError);
  });
});
