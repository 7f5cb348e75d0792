import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashTicket, type MintRequest, type TicketStore, type UpstreamTarget } from './tickets';

/**
 * One TicketStore contract, run against every backend (tickets.test.ts: memory with an
 * injected clock; test/tickets-redis.smoke.test.ts: a real Redis in real time). The link
 * server and the session router rely on exactly these semantics.
 */
export interface TicketStoreBackend {
  name: string;
  /**
   * `n` stores over the same data, as `n` gateway replicas would hold them. A single-process
   * store returns the same instance `n` times.
   */
  open(n: number, opts: { routeTtlMs: number }): Promise<TicketStore[]>;
  /** The stores' clock, epoch ms. */
  now(): number;
  /** Lets `ms` pass on the stores' clock: an injected clock, or a real sleep. */
  advance(ms: number): Promise<void>;
  /** After the suite: remove what it stored, close connections. */
  close(): Promise<void>;
}

/** The TTL the suite mints with: short enough to sleep through on a real Redis, with margins of 100+ ms. */
export const CONTRACT_TTL_MS = 500;
const T = CONTRACT_TTL_MS;

const upstream: UpstreamTarget = { host: '10.0.0.7', port: 5901, password: 'guest-secret' };
const destination: UpstreamTarget = { host: '10.0.0.8', port: 5907, password: 'guest-secret' };
const request = (over: Partial<MintRequest> = {}): MintRequest => ({
  user: 'alice',
  tenant: 'acme',
  desktop: 'vd-1',
  upstream,
  ttlMs: T,
  groups: ['staff', 'eng'],
  policy: 'default-policy',
  ...over,
});

export function describeTicketStoreContract(backend: TicketStoreBackend): void {
  describe(`ticket store contract: ${backend.name}`, () => {
    let a: TicketStore;
    let b: TicketStore;
    let replicas: TicketStore[];

    beforeAll(async () => {
      replicas = await backend.open(4, { routeTtlMs: T });
      [a, b] = replicas as [TicketStore, TicketStore];
    });
    afterAll(() => backend.close());

    it('mints SPICE-sized base64url tickets; another replica redeems the record, groups and policy included', async () => {
      const before = backend.now();
      const minted = await a.mint(request());
      const after = backend.now();
      expect(minted.ticket).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(minted.ticketHash).toBe(hashTicket(minted.ticket));
      // Real clocks (gateway vs Redis on one machine) may differ by a few ms.
      expect(minted.expiresAt).toBeGreaterThanOrEqual(before + T - 20);
      expect(minted.expiresAt).toBeLessThanOrEqual(after + T + 20);
      const record = await b.redeem(minted.ticket);
      expect(record).toEqual({
        ticketHash: minted.ticketHash,
        user: 'alice',
        tenant: 'acme',
        desktop: 'vd-1',
        upstream,
        groups: ['staff', 'eng'],
        policy: 'default-policy',
        expiresAt: minted.expiresAt,
      });
      expect(JSON.stringify(record)).not.toContain(minted.ticket);
      expect((await a.mint(request())).ticket).not.toBe(minted.ticket);
    });

    it('keeps groups and policy absent when the request has none', async () => {
      const { ticket } = await a.mint(request({ groups: undefined, policy: undefined }));
      const record = await b.redeem(ticket);
      expect(record).toBeDefined();
      expect(record).not.toHaveProperty('groups');
      expect(record).not.toHaveProperty('policy');
    });

    it('refuses unknown tickets and TTLs that are not positive numbers', async () => {
      expect(await a.redeem('not-a-ticket')).toBeUndefined();
      for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(a.mint(request({ ttlMs }))).rejects.toThrow(RangeError);
      }
    });

    it('returns copies: changing a redeemed record changes nothing stored', async () => {
      const { ticket } = await a.mint(request());
      const r = (await a.redeem(ticket))!;
      r.upstream.password = 'x';
      r.groups!.push('admins');
      r.sessionId = 9;
      const again = (await a.redeem(ticket))!;
      expect(again.upstream).toEqual(upstream);
      expect(again.groups).toEqual(['staff', 'eng']);
      expect(again.sessionId).toBeUndefined();
    });

    it('expires an unbound ticket at its TTL; an expired ticket cannot be bound', async () => {
      const { ticket, ticketHash } = await a.mint(request());
      await backend.advance(T / 5);
      expect(await b.redeem(ticket)).toBeDefined();
      await backend.advance(T * 1.2);
      expect(await b.redeem(ticket)).toBeUndefined();
      expect(await a.bind(ticketHash, 1)).toBe(false);
    });

    it('binds to one session; stays valid past its TTL while bound; unbinding then frees and expires it', async () => {
      const { ticket, ticketHash } = await a.mint(request());
      expect(await a.bind(ticketHash, 42)).toBe(true);
      expect(await b.bind(ticketHash, 42)).toBe(true);
      expect(await b.bind(ticketHash, 43)).toBe(false);
      await backend.advance(T * 1.4);
      expect((await b.redeem(ticket))?.sessionId).toBe(42);
      await b.unbind(ticketHash, 43); // not its session: no effect
      expect((await a.redeem(ticket))?.sessionId).toBe(42);
      await b.unbind(ticketHash, 42);
      expect(await a.redeem(ticket)).toBeUndefined();
      expect(await a.bind(ticketHash, 42)).toBe(false);
    });

    it('unbinding before the TTL frees the ticket for a new session until the TTL, then it expires', async () => {
      const { ticket, ticketHash } = await a.mint(request());
      expect(await a.bind(ticketHash, 7)).toBe(true);
      await backend.advance(T / 5);
      await b.unbind(ticketHash, 7);
      const freed = await a.redeem(ticket);
      expect(freed).toBeDefined();
      expect(freed?.sessionId).toBeUndefined();
      expect(await b.bind(ticketHash, 8)).toBe(true);
      await b.unbind(ticketHash, 8);
      await backend.advance(T);
      expect(await a.redeem(ticket)).toBeUndefined();
    });

    it('rebind is a compare-and-set on the bound session', async () => {
      const { ticket, ticketHash } = await a.mint(request());
      expect(await a.rebind(ticketHash, 1, 2)).toBe(false); // not bound
      expect(await a.rebind(hashTicket('unknown'), 1, 2)).toBe(false);
      expect(await a.bind(ticketHash, 1)).toBe(true);
      expect(await b.rebind(ticketHash, 5, 2)).toBe(false); // wrong "from"
      expect((await a.redeem(ticket))?.sessionId).toBe(1);
      expect(await b.rebind(ticketHash, 1, 2)).toBe(true);
      expect((await a.redeem(ticket))?.sessionId).toBe(2);
      expect(await a.bind(ticketHash, 1)).toBe(false);
      await a.unbind(ticketHash, 1); // the old session ending must not free the ticket
      await backend.advance(T * 1.4);
      expect((await a.redeem(ticket))?.sessionId).toBe(2);
      await a.unbind(ticketHash, 2);
      expect(await a.redeem(ticket)).toBeUndefined();
    });

    it('revoke ends a ticket at once, bound or not', async () => {
      const free = await a.mint(request());
      const bound = await a.mint(request());
      expect(await a.bind(bound.ticketHash, 3)).toBe(true);
      await b.revoke(free.ticketHash);
      await b.revoke(bound.ticketHash);
      expect(await a.redeem(free.ticket)).toBeUndefined();
      expect(await a.redeem(bound.ticket)).toBeUndefined();
      expect(await a.bind(free.ticketHash, 1)).toBe(false);
      expect(await a.rebind(bound.ticketHash, 3, 4)).toBe(false);
      await b.revoke(free.ticketHash); // twice: harmless
    });

    it('replicas racing to bind one ticket: exactly one session wins, every time', async () => {
      for (let round = 0; round < 20; round++) {
        const { ticket, ticketHash } = await a.mint(request({ ttlMs: 10_000 }));
        const tries = replicas.flatMap((store, i) => [store.bind(ticketHash, 100 + 2 * i), store.bind(ticketHash, 101 + 2 * i)]);
        const results = await Promise.all(tries);
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = 100 + results.indexOf(true);
        expect((await b.redeem(ticket))?.sessionId).toBe(winner);
        await a.revoke(ticketHash);
      }
    });

    it('replicas racing to rebind one session: exactly one new session wins', async () => {
      for (let round = 0; round < 10; round++) {
        const { ticket, ticketHash } = await a.mint(request({ ttlMs: 10_000 }));
        expect(await a.bind(ticketHash, 1)).toBe(true);
        const results = await Promise.all(replicas.map((store, i) => store.rebind(ticketHash, 1, 10 + i)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await b.redeem(ticket))?.sessionId).toBe(10 + results.indexOf(true));
        await a.revoke(ticketHash);
      }
    });

    it('routes a desktop across replicas, per desktop, until cleared', async () => {
      const desktop = `vd-route-${Math.random().toString(36).slice(2)}`;
      expect(await a.route(desktop)).toBeUndefined();
      await a.setRoute(desktop, destination);
      expect(await b.route(desktop)).toEqual(destination);
      expect(await b.route(`${desktop}-other`)).toBeUndefined();
      const moved: UpstreamTarget = { host: '10.0.0.9', port: 5910, password: '' };
      await b.setRoute(desktop, moved);
      expect(await a.route(desktop)).toEqual(moved);
      const r = (await a.route(desktop))!;
      r.host = 'changed';
      expect(await a.route(desktop)).toEqual(moved);
      await b.clearRoute(desktop);
      expect(await a.route(desktop)).toBeUndefined();
      await b.clearRoute(desktop); // twice: harmless
    });

    it('routes expire unless set again', async () => {
      const desktop = `vd-expiry-${Math.random().toString(36).slice(2)}`;
      await a.setRoute(desktop, destination);
      await backend.advance(T * 0.6);
      await b.setRoute(desktop, destination); // renewed: counts from here
      await backend.advance(T * 0.6);
      expect(await a.route(desktop)).toEqual(destination);
      await backend.advance(T * 0.8);
      expect(await a.route(desktop)).toBeUndefined();
    });
  });
}
