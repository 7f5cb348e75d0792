// @vitest-environment happy-dom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, errorFrom, type Api } from '../api/client';
import type { Desktop, Pool } from '../api/types';
import { claimFailure, consoleRoute, poolConsolePath, poolSummary } from './pools';
import { PoolsSection } from './PoolsSection';

afterEach(cleanup);

const desktop = (name: string, over: Partial<Desktop> = {}): Desktop => ({
  name,
  tenant: 'team-a',
  owner: 'alice',
  template: 'office-t',
  runStrategy: 'Always',
  persistent: false,
  phase: 'Running',
  ready: true,
  consoleReady: true,
  deleting: false,
  ...over,
});
const pool = (name: string, over: Partial<Pool> = {}): Pool => ({ name, tenant: 'team-a', template: 'office-t', assignment: 'Floating', size: 4, desktops: 4, free: 2, available: 3, claimed: 1, ...over });

const URL_FROM_API = 'http://127.0.0.1:8080/ui/console/office-k3j9q#ticket=T-42&desktop=team-a%2Foffice-k3j9q';

/**
 * Stands in for the API (NOT the real one): GET /pools answers `pools`; the console request
 * answers what `console` returns, a Response built the way the server sends it.
 */
function standIn(pools: Pool[], console: () => Response | Promise<Response>) {
  const asked: string[] = [];
  const api: Pick<Api, 'get' | 'raw'> = {
    get: <T,>() => Promise.resolve({ items: pools } as T),
    raw: async (path: string) => {
      asked.push(path);
      return console();
    },
  };
  return { api, asked };
}

function renderSection(api: Pick<Api, 'get' | 'raw'>, opened: { pathname: string; hash: string }[] = []) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <PoolsSection api={api} onOpen={(to) => opened.push(to)} refetchMs={60_000} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const jsonError = (status: number, error: Record<string, string>) => new Response(JSON.stringify({ error: { requestId: 'r1', ...error } }), { status, headers: { 'content-type': 'application/json' } });

describe('PoolsSection', () => {
  it('shows nothing to someone with no pool', async () => {
    const { api } = standIn([], () => new Response(null, { status: 500 }));
    renderSection(api);
    await act(() => new Promise((r) => setTimeout(r, 20)));
    expect(screen.queryByRole('heading', { name: 'Pools' })).toBeNull();
  });

  it('lists my pools with their free count, and which desktop is mine', async () => {
    const { api } = standIn([pool('office'), pool('labs', { assignment: 'Dedicated', free: 0, available: 0, claimed: 4, mine: desktop('labs-aaaaa', { phase: 'Stopped', consoleReady: false }) }), pool('full', { free: 0, available: 0, claimed: 4 })], () => new Response());
    renderSection(api);
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Pools' })).toBeTruthy());
    const cards = screen.getAllByRole('listitem');
    expect(cards.map((c) => c.querySelector('h3')?.textContent)).toEqual(['office', 'labs', 'full']);
    expect(cards[0]!.textContent).toContain('2 of 4 ready now.');
    expect(cards[1]!.textContent).toContain('Your desktop labs-aaaaa is stopped.');
    expect(cards[1]!.textContent).toContain('Yours to keep');
    // Full: Connect cannot succeed; a pool where I hold one always can.
    const connects = screen.getAllByRole<HTMLButtonElement>('button', { name: 'Connect' });
    expect(connects.map((b) => b.disabled)).toEqual([false, false, true]);
  });

  it('Connect claims through the pool console and opens the console page of the desktop it got, ticket in the fragment', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { api, asked } = standIn([pool('office')], async () => {
      await gate; // the API waits while the desktop starts
      return new Response(JSON.stringify({ url: URL_FROM_API, expiresAt: '2026-03-02T09:00:00Z' }), { status: 200, headers: { 'content-type': 'application/json', 'x-deskplane-desktop': 'office-k3j9q', 'x-deskplane-claim': 'claimed' } });
    });
    const opened: { pathname: string; hash: string }[] = [];
    renderSection(api, opened);
    const button = await screen.findByRole('button', { name: 'Connect' });
    fireEvent.click(button);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Connecting…' }).getAttribute('aria-busy')).toBe('true'));
    expect(screen.getByText('Getting your desktop ready…')).toBeTruthy();
    expect(opened).toEqual([]);
    await act(async () => {
      release();
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(asked).toEqual(['/pools/office/console?kind=browser']);
    expect(opened).toEqual([{ pathname: '/console/office-k3j9q', hash: '#ticket=T-42&desktop=team-a%2Foffice-k3j9q' }]);
  });

  it.each([
    [jsonError(409, { code: 'Conflict', reason: 'exhausted', message: 'pool "office" has no free desktop: 4 of 4 claimed; ask your admin to raise size' }), 'No desktop of office is free: 4 of 4 claimed; ask your admin to raise size.'],
    [jsonError(409, { code: 'Conflict', reason: 'starting', message: 'desktop "office-k3j9q" of pool "office" is still starting (Starting after 120 s); it stays yours: ask again in a moment' }), 'Your desktop of office is still starting. Press Connect again in a moment: it stays yours.'],
    [jsonError(403, { code: 'Forbidden', message: 'you may not claim desktops of pool "office"' }), 'You may not use desktops of office: ask your administrator to add you.'],
  ])('says what a refused claim means and opens nothing (%#)', async (response, text) => {
    const { api } = standIn([pool('office')], () => response.clone());
    const opened: { pathname: string; hash: string }[] = [];
    renderSection(api, opened);
    fireEvent.click(await screen.findByRole('button', { name: 'Connect' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe(text));
    expect(opened).toEqual([]);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Connect' }).disabled).toBe(false);
  });
});

describe('pool helpers', () => {
  it('builds the pool console path and refuses a console URL without a ticket', () => {
    expect(poolConsolePath('office', 'browser')).toBe('/pools/office/console?kind=browser');
    expect(consoleRoute('office-k3j9q', URL_FROM_API, 'http://127.0.0.1:8080/ui/')).toEqual({ pathname: '/console/office-k3j9q', hash: '#ticket=T-42&desktop=team-a%2Foffice-k3j9q' });
    expect(() => consoleRoute('office-k3j9q', 'http://127.0.0.1:8080/ui/console/office-k3j9q#desktop=x', 'http://127.0.0.1:8080/ui/')).toThrow(/no ticket/);
  });

  it('summarises a pool by what Connect will do', () => {
    expect(poolSummary(pool('office', { free: 0, available: 2 }))).toMatch(/^None ready right now: Connect starts one/);
    expect(poolSummary(pool('office', { free: 0, available: 0 }))).toBe('All 4 desktops are in use.');
    expect(poolSummary(pool('office', { mine: desktop('office-aaaaa') }))).toBe('Your desktop office-aaaaa is ready.');
  });

  it('reads the reason of an API error', async () => {
    const e = await errorFrom(jsonError(409, { code: 'Conflict', reason: 'exhausted', message: 'm' }));
    expect([e.status, e.reason]).toEqual([409, 'exhausted']);
    expect(claimFailure(new ApiError(500, 'Internal', 'boom'), 'office')).toBe('office: boom');
  });
});
