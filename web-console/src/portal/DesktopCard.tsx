import { Link } from 'react-router';
import type { Desktop } from '../api/types';
import { actionsFor, consoleHint } from './phase';
import { StatusBadge } from './StatusBadge';

export type DesktopAction = 'start' | 'stop' | 'restart' | 'delete' | 'vv';

function since(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : new Date(t).toLocaleString();
}

export function DesktopCard({ desktop: d, busy, onAction, showOwner }: { desktop: Desktop; busy: boolean; onAction: (a: DesktopAction, d: Desktop) => void; showOwner?: boolean }) {
  const can = actionsFor(d);
  const hint = consoleHint(d);
  const hintId = `hint-${d.tenant}-${d.name}`;
  return (
    <li className="desktop card" aria-labelledby={`title-${d.tenant}-${d.name}`}>
      <div className="desktop__head">
        <h3 id={`title-${d.tenant}-${d.name}`} className="desktop__name">
          {d.name}
        </h3>
        <StatusBadge desktop={d} />
      </div>
      <dl className="desktop__facts">
        <dt>Template</dt>
        <dd>{d.template}</dd>
        {showOwner && (
          <>
            <dt>Owner</dt>
            <dd>{d.owner ?? '—'}</dd>
          </>
        )}
        {d.phase === 'Running' && since(d.runningSince) && (
          <>
            <dt>Running since</dt>
            <dd>{since(d.runningSince)}</dd>
          </>
        )}
      </dl>
      {hint && (
        <p id={hintId} className="desktop__hint">
          {hint}
        </p>
      )}
      <div className="desktop__actions">
        {d.consoleReady ? (
          <Link className="button button--primary" to={`/console/${encodeURIComponent(d.name)}`}>
            Open in browser
          </Link>
        ) : (
          <button type="button" className="button button--primary" disabled aria-describedby={hintId}>
            Open in browser
          </button>
        )}
        <button type="button" className="button" disabled={!d.consoleReady || busy} aria-describedby={hint ? hintId : undefined} onClick={() => onAction('vv', d)}>
          Download .vv
        </button>
        {can.start && (
          <button type="button" className="button" disabled={busy} onClick={() => onAction('start', d)}>
            Start
          </button>
        )}
        {can.stop && (
          <button type="button" className="button" disabled={busy} onClick={() => onAction('stop', d)}>
            Stop
          </button>
        )}
        {can.restart && (
          <button type="button" className="button" disabled={busy} onClick={() => onAction('restart', d)}>
            Restart
          </button>
        )}
        {can.remove && (
          <button type="button" className="button button--danger-quiet" disabled={busy} onClick={() => onAction('delete', d)}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}
