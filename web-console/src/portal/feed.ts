import type { Desktop } from '../api/types';

/**
 * The desktop list as the event stream builds it: `added` per desktop, `synced`, then
 * `added` / `modified` / `deleted`. After a reconnect (`open`) the server sends everything
 * again, so the new snapshot replaces the old one at `synced` — a desktop deleted while the
 * stream was down disappears then, and the list does not blink empty meanwhile.
 */
export interface FeedState {
  desktops: Map<string, Desktop>;
  /** The first snapshot has arrived. */
  synced: boolean;
  /** The snapshot being received since the last (re)connection. */
  pending?: Map<string, Desktop>;
}

export const emptyFeed: FeedState = { desktops: new Map(), synced: false };

export const keyOf = (d: Pick<Desktop, 'tenant' | 'name'>) => `${d.tenant}/${d.name}`;

function isDesktop(v: unknown): v is Desktop {
  return typeof v === 'object' && v !== null && typeof (v as Desktop).name === 'string' && typeof (v as Desktop).tenant === 'string';
}

export function applyEvent(state: FeedState, event: string, data: unknown): FeedState {
  switch (event) {
    case 'open':
      return { ...state, pending: new Map() };
    case 'synced':
      return state.pending ? { desktops: state.pending, synced: true } : { ...state, synced: true };
    case 'added':
    case 'modified': {
      if (!isDesktop(data)) return state;
      if (state.pending) {
        const pending = new Map(state.pending).set(keyOf(data), data);
        return { ...state, pending, desktops: state.synced ? new Map(state.desktops).set(keyOf(data), data) : state.desktops };
      }
      return { ...state, desktops: new Map(state.desktops).set(keyOf(data), data) };
    }
    case 'deleted': {
      if (!isDesktop(data)) return state;
      const desktops = new Map(state.desktops);
      desktops.delete(keyOf(data));
      if (!state.pending) return { ...state, desktops };
      const pending = new Map(state.pending);
      pending.delete(keyOf(data));
      return { ...state, desktops, pending };
    }
    default:
      return state;
  }
}

/** Newest first, then by name: a freshly created desktop shows at the top. */
export function sortDesktops(list: Iterable<Desktop>): Desktop[] {
  return [...list].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.name.localeCompare(b.name));
}
