import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { messageOf } from './messages';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  /** Styles the confirm button as destructive (delete, kill, drain). */
  danger?: boolean;
  /** May return a promise: the dialog stays open, busy, until it settles; a rejection is shown in the dialog. */
  onConfirm: () => unknown;
  onClose: () => void;
}

/**
 * A modal confirmation. Focus starts on Cancel, so Enter on a destructive question does not
 * destroy; Escape cancels; Tab stays inside; focus returns to what opened it.
 */
export function ConfirmDialog({ open, title, children, confirmLabel, danger, onConfirm, onClose }: ConfirmDialogProps) {
  const titleId = useId();
  const bodyId = useId();
  const panel = useRef<HTMLDivElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!open) return;
    const opener = document.activeElement as HTMLElement | null;
    setError(undefined);
    setBusy(false);
    cancel.current?.focus();
    return () => opener?.focus();
  }, [open]);

  if (!open) return null;

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && !busy) {
      e.preventDefault();
      onClose();
    } else if (e.key === 'Tab' && panel.current) {
      const items = [...panel.current.querySelectorAll<HTMLElement>('button:not([disabled])')];
      const first = items[0];
      const last = items[items.length - 1];
      if (!first || !last) return;
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  };

  return (
    <div className="dialog-backdrop">
      <div ref={panel} className="dialog" role="alertdialog" aria-modal="true" aria-labelledby={titleId} aria-describedby={bodyId} onKeyDown={onKeyDown}>
        <h2 id={titleId} className="dialog__title">
          {title}
        </h2>
        <div id={bodyId} className="dialog__body">
          {children}
        </div>
        {error && (
          <p className="alert alert--error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog__actions">
          <button ref={cancel} type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className={danger ? 'button button--danger' : 'button button--primary'} onClick={() => void confirm()} disabled={busy} aria-busy={busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
