/**
 * Confirm-then-act for destructive buttons (drain, kill, abort): the first click only asks,
 * the action runs on the second, and a failure stays on screen until the next attempt.
 */

export type ConfirmState =
  | { step: 'idle' }
  | { step: 'confirming' }
  | { step: 'running' }
  | { step: 'failed'; message: string };

export type ConfirmEvent =
  | { type: 'ask' }
  | { type: 'cancel' }
  | { type: 'confirm' }
  | { type: 'succeeded' }
  | { type: 'failed'; message: string };

export const IDLE: ConfirmState = { step: 'idle' };

/** Events that do not fit the current step are ignored: a double click must not run the action twice. */
export function confirmReducer(state: ConfirmState, event: ConfirmEvent): ConfirmState {
  switch (event.type) {
    case 'ask':
      return state.step === 'idle' || state.step === 'failed' ? { step: 'confirming' } : state;
    case 'cancel':
      return state.step === 'confirming' || state.step === 'failed' ? IDLE : state;
    case 'confirm':
      return state.step === 'confirming' ? { step: 'running' } : state;
    case 'succeeded':
      return state.step === 'running' ? IDLE : state;
    case 'failed':
      return state.step === 'running' ? { step: 'failed', message: event.message } : state;
  }
}

/** What to tell the operator when an action fails: the API's message when there is one. */
export function failureMessage(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  return 'The request failed.';
}
