import { useEffect, useReducer, useRef } from 'react';
import { IDLE, confirmReducer, failureMessage } from './confirm';

export interface ConfirmButtonProps {
  /** The button's visible text, e.g. "Drain". */
  label: string;
  /** Names the object too, e.g. "Drain host-a": many rows share the visible text. */
  accessibleName: string;
  /** The question shown on the first click. */
  question: string;
  /** The confirming button's text, e.g. "Drain host-a". */
  confirmLabel: string;
  busyLabel: string;
  action: () => Promise<unknown>;
  /** After a successful action, e.g. to refetch. */
  onDone?: () => void;
  disabled?: boolean;
}

export function ConfirmButton(props: ConfirmButtonProps) {
  const [state, dispatch] = useReducer(confirmReducer, IDLE);
  const trigger = useRef<HTMLButtonElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);

  // Focus follows the flow: onto Cancel (the safe choice) when asked, back to the trigger after.
  useEffect(() => {
    if (state.step === 'confirming') cancel.current?.focus();
    else if (state.step === 'failed' || (state.step === 'idle' && wasConfirming.current)) trigger.current?.focus();
    wasConfirming.current = state.step !== 'idle';
  }, [state.step]);

  const run = () => {
    if (state.step !== 'confirming') return;
    dispatch({ type: 'confirm' });
    props.action().then(
      () => {
        dispatch({ type: 'succeeded' });
        props.onDone?.();
      },
      (err: unknown) => dispatch({ type: 'failed', message: failureMessage(err) }),
    );
  };

  if (state.step === 'confirming' || state.step === 'running') {
    const busy = state.step === 'running';
    return (
      <span
        className="ops-confirm"
        role="group"
        aria-label={props.accessibleName}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && !busy) dispatch({ type: 'cancel' });
        }}
      >
        <span className="ops-confirm__question">{props.question}</span>
        <button type="button" className="ops-button ops-button--danger" onClick={run} disabled={busy} aria-busy={busy}>
          {busy ? props.busyLabel : props.confirmLabel}
        </button>
        <button type="button" className="ops-button" ref={cancel} onClick={() => dispatch({ type: 'cancel' })} disabled={busy}>
          Cancel
        </button>
      </span>
    );
  }
  return (
    <span className="ops-confirm">
      <button
        type="button"
        className="ops-button"
        ref={trigger}
        aria-label={props.accessibleName}
        disabled={props.disabled}
        onClick={() => dispatch({ type: 'ask' })}
      >
        {props.label}
      </button>
      {state.step === 'failed' && (
        <span className="ops-confirm__error" role="alert">
          {props.accessibleName} failed: {state.message}
        </span>
      )}
    </span>
  );
}
