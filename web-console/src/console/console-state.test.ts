import { describe, expect, it } from 'vitest';
import { NOT_READY_RETRY_MS, STABLE_SESSION_MS, classifySpiceError, consoleReducer, describeConsoleState, initialConsoleState, type ConsoleEvent, type ConsoleState } from './console-state';

const run = (events: ConsoleEvent[], from: ConsoleState = initialConsoleState): ConsoleState => events.reduce(consoleReducer, from);
const connectedAt = (at: number): ConsoleState => run([{ type: 'ticket' }, { type: 'connected', at }]);

describe('console state machine', () => {
  it('goes requesting → connecting → connected', () => {
    expect(initialConsoleState.phase).toBe('requesting');
    expect(run([{ type: 'ticket' }]).phase).toBe('connecting');
    expect(connectedAt(1_000)).toEqual({ phase: 'connected', attempt: 1, connectedAt: 1_000 });
  });

  it('maps API refusals: 409 not ready, 403/404 refused, anything else failed', () => {
    expect(run([{ type: 'ticket-failed', status: 409, message: 'desktop vd-1 is Starting' }])).toMatchObject({ phase: 'not-ready', message: 'desktop vd-1 is Starting' });
    expect(run([{ type: 'ticket-failed', status: 403, message: 'only the owner' }]).phase).toBe('refused');
    expect(run([{ type: 'ticket-failed', status: 404, message: 'no such desktop' }]).phase).toBe('refused');
    expect(run([{ type: 'ticket-failed', status: 503, message: 'no gateway' }]).phase).toBe('failed');
    expect(run([{ type: 'ticket-failed', message: 'network' }]).phase).toBe('failed');
  });

  it('a refused ticket while linking is "refused"; other link failures are "disconnected"', () => {
    expect(run([{ type: 'ticket' }, { type: 'spice-error', message: 'Permission denied.', at: 5 }]).phase).toBe('refused');
    expect(run([{ type: 'ticket' }, { type: 'spice-error', message: 'Bad password.', at: 5 }]).phase).toBe('refused');
    const unreachable = run([{ type: 'ticket' }, { type: 'spice-error', message: 'Connection refused.', at: 5 }]);
    expect(unreachable).toMatchObject({ phase: 'disconnected', message: 'Could not connect: Connection refused.' });
  });

  it('reconnects by itself once when a stable session drops, with a new attempt', () => {
    const dropped = consoleReducer(connectedAt(1_000), { type: 'spice-error', message: 'Unexpected close while ready', at: 1_000 + STABLE_SESSION_MS });
    expect(dropped).toEqual({ phase: 'requesting', attempt: 2, automatic: true });
    expect(describeConsoleState(dropped).title).toMatch(/reconnecting/i);
    // The automatic attempt failing to link ends in "disconnected", not another automatic try.
    const again = run([{ type: 'ticket' }, { type: 'spice-error', message: 'Connection refused.', at: 9_000 }], dropped);
    expect(again.phase).toBe('disconnected');
    expect(describeConsoleState(again).canReconnect).toBe(true);
  });

  it('after a drop, a desktop that is not ready (migrating) is retried by itself until a deadline; a click starts afresh', () => {
    const dropped = consoleReducer(connectedAt(1_000), { type: 'spice-error', message: 'closed', at: 1_000 + STABLE_SESSION_MS });
    const busy = consoleReducer(dropped, { type: 'ticket-failed', status: 409, message: 'desktop is Migrating', at: 10_000 });
    expect(busy).toMatchObject({ phase: 'not-ready', retryUntil: 10_000 + NOT_READY_RETRY_MS });
    expect(describeConsoleState(busy)).toMatchObject({ busy: true, title: expect.stringMatching(/retrying/) as string });
    const retry = consoleReducer(busy, { type: 'reconnect', automatic: true });
    expect(retry).toMatchObject({ phase: 'requesting', attempt: dropped.attempt + 1, retryUntil: 10_000 + NOT_READY_RETRY_MS });
    // The deadline is kept across retries, not renewed.
    expect(consoleReducer(retry, { type: 'ticket-failed', status: 409, message: 'still', at: 50_000 }).retryUntil).toBe(10_000 + NOT_READY_RETRY_MS);
    // A first (manual) request that is not ready does not retry by itself.
    expect(run([{ type: 'ticket-failed', status: 409, message: 'Starting', at: 5 }]).retryUntil).toBeUndefined();
    expect(consoleReducer(busy, { type: 'reconnect' })).toEqual({ phase: 'requesting', attempt: busy.attempt + 1 });
  });

  it('a session dropping right after linking is "disconnected" (no reconnect loop)', () => {
    const s = consoleReducer(connectedAt(1_000), { type: 'spice-error', message: 'Unexpected close while ready', at: 1_000 + STABLE_SESSION_MS - 1 });
    expect(s).toMatchObject({ phase: 'disconnected', attempt: 1 });
    expect(s.message).toContain('Unexpected close while ready');
  });

  it('Reconnect starts a new attempt from every resting state and is ignored while busy', () => {
    for (const from of ['not-ready', 'refused', 'disconnected', 'failed', 'connected'] as const) {
      expect(consoleReducer({ phase: from, attempt: 3 }, { type: 'reconnect' })).toEqual({ phase: 'requesting', attempt: 4 });
    }
    const busy = run([{ type: 'ticket' }]);
    expect(consoleReducer(busy, { type: 'reconnect' })).toBe(busy);
    expect(consoleReducer(initialConsoleState, { type: 'reconnect' })).toBe(initialConsoleState);
  });

  it('ignores late events from an attempt that is over', () => {
    const refused = run([{ type: 'ticket-failed', status: 409, message: 'x' }]);
    expect(consoleReducer(refused, { type: 'connected', at: 1 })).toBe(refused);
    expect(consoleReducer(refused, { type: 'spice-error', message: 'late', at: 1 })).toBe(refused);
    expect(consoleReducer(refused, { type: 'ticket' })).toBe(refused);
    const up = connectedAt(1);
    expect(consoleReducer(up, { type: 'ticket-failed', status: 409, message: 'late' })).toBe(up);
  });

  it('offers Reconnect only in resting failure states', () => {
    const offers = (phase: ConsoleState['phase']) => describeConsoleState({ phase, attempt: 1 }).canReconnect;
    expect(['requesting', 'connecting', 'connected'].map((p) => offers(p as ConsoleState['phase']))).toEqual([false, false, false]);
    expect(['not-ready', 'refused', 'disconnected', 'failed'].map((p) => offers(p as ConsoleState['phase']))).toEqual([true, true, true, true]);
  });

  it('classifies spice-html5 error texts', () => {
    expect(classifySpiceError('Permission denied.')).toBe('refused');
    expect(classifySpiceError('Error: reply link error 7')).toBe('refused');
    expect(classifySpiceError('Error: reply link error 3')).toBe('other');
    expect(classifySpiceError('Unexpected close while ready')).toBe('other');
  });
});
