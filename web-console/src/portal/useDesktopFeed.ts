import { useEffect, useReducer, useState } from 'react';
import { api } from '../api/client';
import type { Desktop } from '../api/types';
import { messageOf } from '../ui/messages';
import { applyEvent, emptyFeed, sortDesktops, type FeedState } from './feed';

type Action = { event: string; data: unknown } | { event: 'local'; data: Desktop };

function reduce(state: FeedState, a: Action): FeedState {
  return a.event === 'local' ? applyEvent(state, 'modified', a.data) : applyEvent(state, a.event, a.data);
}

/**
 * Desktops live from GET /events/desktops (`all` for the tenant admin's view). `apply` puts
 * an action's answer in the list at once, before the stream reports it.
 */
export function useDesktopFeed(all = false): { desktops: Desktop[]; synced: boolean; error: string | undefined; apply: (d: Desktop) => void } {
  const [state, dispatch] = useReducer(reduce, emptyFeed);
  const [error, setError] = useState<string>();

  useEffect(() => {
    const stop = api.sse(
      `/events/desktops${all ? '?all=true' : ''}`,
      (event, data) => {
        if (event === 'open') setError(undefined);
        dispatch({ event, data });
      },
      (err) => setError(`Live updates interrupted: ${messageOf(err)}`),
    );
    return stop;
  }, [all]);

  return { desktops: sortDesktops(state.desktops.values()), synced: state.synced, error, apply: (d) => dispatch({ event: 'local', data: d }) };
}
