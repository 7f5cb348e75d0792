import type { ReactNode } from 'react';

export interface PanelProps {
  id: string;
  title: string;
  /** The query's error, shown instead of the content while there is no data at all. */
  error?: Error | null;
  loading?: boolean;
  /** Data is shown, but the last poll failed: say so without hiding what we have. */
  stale?: boolean;
  children?: ReactNode;
  className?: string;
}

/** A titled region of the dashboard; its heading names the landmark for screen readers. */
export function Panel({ id, title, error, loading, stale, children, className }: PanelProps) {
  const headingId = `${id}-title`;
  return (
    <section className={`ops-panel ${className ?? ''}`} aria-labelledby={headingId} id={id}>
      <h2 id={headingId} className="ops-panel__title">
        {title}
        {stale && error && (
          <span className="ops-panel__stale" role="status">
            {' '}
            (not updating: {error.message})
          </span>
        )}
      </h2>
      {loading ? (
        <p className="ops-panel__note" role="status">
          Loading…
        </p>
      ) : error && !stale ? (
        <p className="ops-panel__error" role="alert">
          {error.message}
        </p>
      ) : (
        children
      )}
    </section>
  );
}

/** Props for a Panel from a react-query result. */
export function panelState(q: { isPending: boolean; error: Error | null; data?: unknown }) {
  return { loading: q.isPending && !q.error, error: q.error, stale: q.data !== undefined && q.error !== null };
}
