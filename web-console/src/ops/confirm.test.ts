import { describe, expect, it } from 'vitest';
import { IDLE, confirmReducer, failureMessage, type ConfirmEvent, type ConfirmState } from './confirm';

const run = (events: ConfirmEvent[], from: ConfirmState = IDLE) => events.reduce(confirmReducer, from);

describe('confirmReducer', () => {
  it('acts only after ask then confirm', () => {
    expect(run([{ type: 'confirm' }])).toEqual(IDLE);
    expect(run([{ type: 'ask' }])).toEqual({ step: 'confirming' });
    expect(run([{ type: 'ask' }, { type: 'confirm' }])).toEqual({ step: 'running' });
    expect(run([{ type: 'ask' }, { type: 'confirm' }, { type: 'succeeded' }])).toEqual(IDLE);
  });

  it('cancel goes back without acting', () => {
    expect(run([{ type: 'ask' }, { type: 'cancel' }, { type: 'confirm' }])).toEqual(IDLE);
  });

  it('a second confirm while running does not start it again', () => {
    const running = run([{ type: 'ask' }, { type: 'confirm' }]);
    expect(confirmReducer(running, { type: 'confirm' })).toBe(running);
    expect(confirmReducer(running, { type: 'cancel' })).toBe(running);
    expect(confirmReducer(running, { type: 'ask' })).toBe(running);
  });

  it('keeps a failure until the next attempt or a cancel', () => {
    const failed = run([{ type: 'ask' }, { type: 'confirm' }, { type: 'failed', message: 'host not found' }]);
    expect(failed).toEqual({ step: 'failed', message: 'host not found' });
    expect(confirmReducer(failed, { type: 'ask' })).toEqual({ step: 'confirming' });
    expect(confirmReducer(failed, { type: 'cancel' })).toEqual(IDLE);
    expect(confirmReducer(IDLE, { type: 'failed', message: 'late' })).toEqual(IDLE);
  });

  it('failureMessage prefers the error message', () => {
    expect(failureMessage(new Error('drain refused'))).toBe('drain refused');
    expect(failureMessage('x')).toBe('The request failed.');
  });
});
