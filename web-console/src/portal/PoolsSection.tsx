import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api as defaultApi, errorFrom, type Api } from '../api/client';
import type { List, Pool } from '../api/types';
import { claimFailure, consoleRoute, poolConsolePath, poolSummary } from './pools';

export interface PoolsSectionProps {
  /** Tests hand in their own; default the page's client. */
  api?: Pick<Api, 'get' | 'raw'>;
  /** Where Connect goes; default the router's navigate. */
  onOpen?: (to: { pathname: string; hash: string }) => void;
  /** How often the counts are refreshed. */
  refetchMs?: number;
}

/**
 * The pools I may claim from, with Connect: one request claims a desktop (mine again if I hold
 * one), waits while it starts, and returns a browser ticket, which opens the console page as a
 * desktop card's "Open in browser" does. Nothing is shown to someone with no pool.
 */
export function PoolsSection({ api = defaultApi, onOpen, refetchMs = 5000 }: PoolsSectionProps) {
  const navigate = useNavigate();
  const pools = useQuery({ queryKey: ['pools'], queryFn: () => api.get<List<Pool>>('/pools'), refetchInterval: refetchMs });
  const [busy, setBusy] = useState<string>();
  const [failure, setFailure] = useState<{ pool: string; text: string }>();

  const connect = async (p: Pool) => {
    setBusy(p.name);
    setFailure(undefined);
    try {
      const res = await api.raw(poolConsolePath(p.name, 'browser'), { headers: { accept: 'application/json' } });
      if (!res.ok) throw await errorFrom(res);
      const { url } = (await res.json()) as { url: string };
      const desktop = res.headers.get('x-deskplane-desktop') ?? p.mine?.name;
      if (!desktop) throw new Error('the API did not say which desktop it gave you');
      (onOpen ?? ((to) => void navigate(to)))(consoleRoute(desktop, url));
    } catch (err) {
      setFailure({ pool: p.name, text: claimFailure(err, p.name) });
      void pools.refetch();
    } finally {
      setBusy(undefined);
    }
  };

  const items = pools.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <section className="pools" aria-labelledby="pools-title">
      <h2 id="pools-title">Pools</h2>
      <div aria-live="polite">{failure && <p className="alert alert--error" role="alert">{failure.text}</p>}</div>
      <ul className="desktop-grid" aria-label="Pools">
        {items.map((p) => (
          <li key={p.name} className="desktop card" aria-labelledby={`pool-${p.name}`}>
            <div className="desktop__head">
              <h3 id={`pool-${p.name}`} className="desktop__name">
                {p.name}
              </h3>
              <span className="muted">{p.assignment === 'Floating' ? 'Fresh each time' : 'Yours to keep'}</span>
            </div>
            <dl className="desktop__facts">
              <dt>Template</dt>
              <dd>{p.template}</dd>
              <dt>Free</dt>
              <dd>
                {p.free} of {p.size}
              </dd>
            </dl>
            <p id={`pool-hint-${p.name}`} className="desktop__hint">
              {busy === p.name ? 'Getting your desktop ready…' : poolSummary(p)}
            </p>
            <div className="desktop__actions">
              <button
                type="button"
                className="button button--primary"
                disabled={busy !== undefined || (!p.mine && p.available === 0)}
                aria-busy={busy === p.name}
                aria-describedby={`pool-hint-${p.name}`}
                onClick={() => void connect(p)}
              >
                {busy === p.name ? 'Connecting…' : 'Connect'}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
