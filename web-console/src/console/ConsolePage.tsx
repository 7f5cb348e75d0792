/**
 * The browser SPICE console (`/ui/console/:name`): a ticket from the API (or the URL fragment
 * the API's console URL carries), spice-html5 to the gateway's WebSocket front, the guest's
 * display scaled to fit, keyboard and mouse to the guest while the screen has focus.
 */
import { useCallback, useEffect, useId, useReducer, useRef, useState } from 'react';
import { useParams } from 'react-router';
import { api as defaultApi, ApiError, type Api } from '../api/client';
import { NOT_READY_RETRY_EVERY_MS, consoleReducer, describeConsoleState, initialConsoleState } from './console-state';
import { consoleTicketPath, parseConsoleFragment, targetFromConsoleUrl, type ConsoleTarget } from './console-url';
import { openSpice, type SpiceSession } from './spice';
import { useFitToContainer } from './useFitToContainer';
import './ConsolePage.css';

export interface ConsolePageProps {
  /** The desktop; default the route's `:name`. */
  name?: string;
  api?: Pick<Api, 'get'>;
}

/** Takes the ticket out of the address bar at once: it must not stay in history or be copied. */
function takeFragmentTarget(): ConsoleTarget | undefined {
  const target = parseConsoleFragment(window.location.hash, window.location);
  if (target) window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  return target;
}

export function ConsolePage({ name: nameProp, api = defaultApi }: ConsolePageProps) {
  const params = useParams();
  const name = nameProp ?? params.name ?? '';
  const [state, dispatch] = useReducer(consoleReducer, initialConsoleState);
  const fragment = useRef<ConsoleTarget | undefined>(undefined);
  const fragmentRead = useRef(false);
  if (!fragmentRead.current) {
    fragmentRead.current = true;
    fragment.current = takeFragmentTarget();
  }
  const session = useRef<SpiceSession | undefined>(undefined);
  const screenId = `spice-screen-${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const stage = useRef<HTMLDivElement>(null);
  const screen = useRef<HTMLDivElement>(null);
  const [focused, setFocused] = useState(false);
  const [sentCad, setSentCad] = useState(false);
  useFitToContainer(stage, screen);

  // One effect run per attempt: ticket, then SPICE; the cleanup closes that attempt's session.
  useEffect(() => {
    if (state.phase !== 'requesting') return;
    let cancelled = false;
    const ticketed = fragment.current
      ? Promise.resolve(fragment.current)
      : api.get<{ url: string }>(consoleTicketPath(name)).then((r) => targetFromConsoleUrl(r.url, window.location));
    ticketed.then(
      (target) => {
        if (cancelled) return;
        fragment.current = undefined; // a fragment ticket links one session only
        dispatch({ type: 'ticket' });
        session.current = openSpice(target.websocketUrl, target.ticket, screenId, {
          onConnected: () => dispatch({ type: 'connected', at: Date.now() }),
          onError: (message) => dispatch({ type: 'spice-error', message, at: Date.now() }),
        });
      },
      (err: unknown) => {
        if (cancelled) return;
        const status = err instanceof ApiError ? err.status : undefined;
        dispatch({ type: 'ticket-failed', ...(status !== undefined && { status }), message: err instanceof Error ? err.message : String(err), at: Date.now() });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [state.attempt, state.phase === 'requesting']);

  // A session that failed or was left behind is closed before the next one starts.
  useEffect(() => {
    if (state.phase === 'connecting' || state.phase === 'connected') return;
    session.current?.stop();
    session.current = undefined;
  }, [state.phase]);
  useEffect(
    () => () => {
      session.current?.stop();
      session.current = undefined;
    },
    [],
  );

  const reconnect = useCallback(() => dispatch({ type: 'reconnect' }), []);

  // After a drop, a desktop that is briefly not ready (a live migration) is retried by itself.
  useEffect(() => {
    if (state.phase !== 'not-ready' || state.retryUntil === undefined || Date.now() >= state.retryUntil) return;
    const timer = setTimeout(() => dispatch({ type: 'reconnect', automatic: true }), NOT_READY_RETRY_EVERY_MS);
    return () => clearTimeout(timer);
  }, [state]);
  const focusScreen = useCallback(() => screen.current?.querySelector('canvas')?.focus(), []);
  const sendCtrlAltDel = useCallback(() => {
    setSentCad(session.current?.sendCtrlAltDel() ?? false);
    focusScreen();
  }, [focusScreen]);

  const view = describeConsoleState(state);
  const live = state.phase === 'connected';
  return (
    <main className="console" data-console-state={state.phase}>
      <header className="console__bar">
        <h1 className="console__title">{name}</h1>
        <p className="console__status" role="status" aria-live="polite">
          <span className={`console__dot console__dot--${state.phase}`} aria-hidden="true" />
          {view.title}
          {live && (focused ? ' — keyboard goes to the desktop' : ' — click the screen to type')}
        </p>
        <div className="console__actions">
          <button type="button" className="console__button" onClick={sendCtrlAltDel} disabled={!live} aria-describedby={sentCad ? `${screenId}-cad` : undefined}>
            Send Ctrl+Alt+Del
          </button>
          {view.canReconnect && (
            <button type="button" className="console__button console__button--primary" onClick={reconnect}>
              Reconnect
            </button>
          )}
        </div>
        {sentCad && <span id={`${screenId}-cad`} className="console__sr-only">Ctrl+Alt+Del sent</span>}
      </header>
      {state.message && (
        <p className={`console__message console__message--${state.phase}`} role="alert">
          {state.message}
        </p>
      )}
      <div className="console__stage" ref={stage} aria-busy={view.busy}>
        <div
          id={screenId}
          ref={screen}
          className={`console__screen${live ? '' : ' console__screen--idle'}`}
          role="application"
          aria-label={`Screen of desktop ${name}`}
          onFocus={() => setFocused(true)}
          onBlur={() => setFocused(false)}
        />
      </div>
    </main>
  );
}

export default ConsolePage;
