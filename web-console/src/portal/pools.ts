/**
 * Pure helpers of the portal's pools: the API path of a pool console, what a pool's counts
 * mean to a person, where the browser console of the claimed desktop opens, and what to say
 * when a claim is refused.
 */
import { ApiError } from '../api/client';
import type { Pool } from '../api/types';

export const poolConsolePath = (pool: string, kind: 'browser' | 'vv'): string => `/pools/${encodeURIComponent(pool)}/console?kind=${kind}`;

/** One line under the pool's name: what Connect will do. */
export function poolSummary(p: Pool): string {
  if (p.mine) return `Your desktop ${p.mine.name} is ${p.mine.consoleReady ? 'ready' : p.mine.phase.toLowerCase()}.`;
  if (p.free > 0) return `${p.free} of ${p.size} ready now.`;
  if (p.available > 0) return `None ready right now: Connect starts one (this can take a minute).`;
  return `All ${p.size} desktops are in use.`;
}

/**
 * The console page of the claimed desktop with the ticket the API minted, in the fragment as
 * the API's own browser URL carries it (the page takes it out of the address bar at once).
 */
export function consoleRoute(desktop: string, url: string, base = window.location.href): { pathname: string; hash: string } {
  const hash = new URL(url, base).hash;
  if (!/(^#|&)ticket=/.test(hash)) throw new Error('the console URL from the API carries no ticket');
  return { pathname: `/console/${encodeURIComponent(desktop)}`, hash };
}

/** What to tell the person whose claim failed. */
export function claimFailure(err: unknown, pool: string): string {
  if (err instanceof ApiError) {
    if (err.status === 409 && err.reason === 'exhausted') return `No desktop of ${pool} is free: ${err.message.replace(/^pool "[^"]*" has no free desktop:\s*/, '')}.`.replace(/\.\.$/, '.');
    if (err.status === 409 && err.reason === 'starting') return `Your desktop of ${pool} is still starting. Press Connect again in a moment: it stays yours.`;
    if (err.status === 403) return `You may not use desktops of ${pool}: ask your administrator to add you.`;
    if (err.status === 429) return 'Too many console requests: wait a minute and try again.';
  }
  return `${pool}: ${err instanceof Error ? err.message : String(err)}`;
}
