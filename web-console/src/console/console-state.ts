/**
 * The console page's state machine, pure: the page feeds it what the API and spice-html5 say,
 * and renders the state. One ticket links one SPICE session, so every (re)connect starts with
 * a new ticket — except the first, which may come in the URL fragment.
 */

export type ConsolePhase = 'requesting' | 'connecting' | 'connected' | 'not-ready' | 'refused' | 'disconnected' | 'failed';

export interface ConsoleState {
  phase: ConsolePhase;
  /** Human-readable reason for the states that are not progress. */
  message?: string;
  /** Incremented per connection attempt: the page (re)connects when it changes. */
  attempt: number;
  /** Epoch ms the session linked (for the automatic reconnect rule). */
  connectedAt?: number;
  /** This attempt is the automatic one after a drop. */
  automatic?: boolean;
  /**
   * Epoch ms until which a 'not-ready' after an automatic reconnect is retried by itself: a
   * drop during a live migration finds the desktop Migrating for a few seconds.
   */
  retryUntil?: number;
}

export type ConsoleEvent =
  | { type: 'ticket' }
  | { type: 'ticket-failed'; status?: number; message: string; at?: number }
  | { type: 'connected'; at: number }
  | { type: 'spice-error'; message: string; at: number }
  | { type: 'reconnect'; automatic?: boolean };

/**
 * A session must have lived this long before a drop reconnects by itself: a drop right after
 * linking would otherwise reconnect in a loop.
 */
export const STABLE_SESSION_MS = 5_000;

/** How long an automatic reconnect keeps retrying a desktop that is not ready (e.g. Migrating). */
export const NOT_READY_RETRY_MS = 90_000;
export const NOT_READY_RETRY_EVERY_MS = 2_000;

export const initialConsoleState: ConsoleState = { phase: 'requesting', attempt: 1 };

/** spice-html5's error texts for a refused ticket (link result 7, or closed while presenting it). */
const REFUSED = /permission denied|bad password|reply link error 7\b/i;

export function classifySpiceError(message: string): 'refused' | 'other' {
  return REFUSED.test(message) ? 'refused' : 'other';
}

export function consoleReducer(state: ConsoleState, event: ConsoleEvent): ConsoleState {
  switch (event.type) {
    case 'ticket':
      return state.phase === 'requesting' ? { ...state, phase: 'connecting', message: undefined } : state;
    case 'ticket-failed': {
      if (state.phase !== 'requesting') return state;
      if (event.status === 409) {
        const retryUntil = state.retryUntil ?? (state.automatic ? (event.at ?? Date.now()) + NOT_READY_RETRY_MS : undefined);
        return { phase: 'not-ready', attempt: state.attempt, message: event.message, ...(retryUntil !== undefined && { automatic: true, retryUntil }) };
      }
      if (event.status === 403 || event.status === 404) return { phase: 'refused', attempt: state.attempt, message: event.message };
      return { phase: 'failed', attempt: state.attempt, message: event.message };
    }
    case 'connected':
      return state.phase === 'connecting' ? { phase: 'connected', attempt: state.attempt, connectedAt: event.at } : state;
    case 'spice-error': {
      if (state.phase === 'connecting') {
        if (classifySpiceError(event.message) === 'refused') {
          return { phase: 'refused', attempt: state.attempt, message: 'The gateway refused the console ticket (it expired or was already used).' };
        }
        return { phase: 'disconnected', attempt: state.attempt, message: `Could not connect: ${event.message}` };
      }
      if (state.phase !== 'connected') return state;
      const stable = state.connectedAt !== undefined && event.at - state.connectedAt >= STABLE_SESSION_MS;
      // The gateway ends browser sessions on a live migration (spice-html5 cannot follow one):
      // one new ticket and a fresh session usually brings the picture back.
      if (stable) return { phase: 'requesting', attempt: state.attempt + 1, automatic: true };
      return { phase: 'disconnected', attempt: state.attempt, message: `The session ended: ${event.message}` };
    }
    case 'reconnect':
      if (state.phase === 'requesting' || state.phase === 'connecting') return state;
      // An automatic retry keeps its deadline; a click starts afresh.
      return event.automatic && state.retryUntil !== undefined
        ? { phase: 'requesting', attempt: state.attempt + 1, automatic: true, retryUntil: state.retryUntil }
        : { phase: 'requesting', attempt: state.attempt + 1 };
  }
}

/** What the page shows for a state: a title and whether Reconnect is offered. */
export function describeConsoleState(state: ConsoleState): { title: string; canReconnect: boolean; busy: boolean } {
  switch (state.phase) {
    case 'requesting':
      return { title: state.automatic ? 'Connection lost — reconnecting…' : 'Requesting a console ticket…', canReconnect: false, busy: true };
    case 'connecting':
      return { title: 'Connecting to the desktop…', canReconnect: false, busy: true };
    case 'connected':
      return { title: 'Connected', canReconnect: false, busy: false };
    case 'not-ready':
      return state.retryUntil !== undefined
        ? { title: 'The desktop is busy (moving to another host?) — retrying…', canReconnect: true, busy: true }
        : { title: 'The desktop is not ready', canReconnect: true, busy: false };
    case 'refused':
      return { title: 'Console ticket expired or refused', canReconnect: true, busy: false };
    case 'disconnected':
      return { title: 'Disconnected', canReconnect: true, busy: false };
    case 'failed':
      return { title: 'Could not open the console', canReconnect: true, busy: false };
  }
}
