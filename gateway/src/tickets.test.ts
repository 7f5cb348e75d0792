import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeTicketStoreContract } from './ticket-store.contract';
import { MemoryTicketStore, ROUTE_TTL_MS } from './tickets';
import { TICKET_KEY_ENV, openPassword, sealPassword, ticketKeyFromEnv } from './tickets-redis';

const upstream = { host: '127.0.0.1', port: 5900, password: 'guest-secret' };
const req = { user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream, ttlMs: 1_000 };

function clockedStore(): { store: MemoryTicketStore; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { store: new MemoryTicketStore({ now: () => t }), advance: (ms) => void (t += ms) };
}

let clock = 1_000_000;
describeTicketStoreContract({
  name: 'memory',
  open: (n, opts) => {
    const store = new MemoryTicketStore({ now: () => clock, routeTtlMs: opts.routeTtlMs });
    return Promise.resolve(Array.from({ length: n }, () => store));
  },
  now: () => clock,
  advance: (ms) => {
    clock += ms;
    return Promise.resolve();
  },
  close: () => Promise.resolve(),
});

describe('MemoryTicketStore', () => {
  it('sweeps expired, unbound records on mint but keeps bound ones', async () => {
    const { store, advance } = clockedStore();
    const { ticket } = await store.mint(req);
    const bound = await store.mint(req);
    await store.bind(bound.ticketHash, 5);
    advance(999);
    expect(await store.redeem(ticket)).toBeDefined();
    advance(1);
    expect(await store.redeem(ticket)).toBeUndefined();
    await store.mint(req);
    expect(store.size).toBe(2);
  });

  it('keeps a route for a day by default', async () => {
    const { store, advance } = clockedStore();
    await store.setRoute('vd-1', upstream);
    advance(ROUTE_TTL_MS - 1);
    expect(await store.route('vd-1')).toEqual(upstream);
    advance(1);
    expect(await store.route('vd-1')).toBeUndefined();
    expect(ROUTE_TTL_MS).toBe(86_400_000);
  });
});

describe('guest password sealing (RedisTicketStore at rest)', () => {
  const key = randomBytes(32);
  it('round-trips, with a fresh IV each time, and only under its own context and key', () => {
    const a = sealPassword('guest-secret', key, 'k1');
    const b = sealPassword('guest-secret', key, 'k1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('guest-secret');
    expect(openPassword(a, [key], 'k1')).toBe('guest-secret');
    expect(openPassword(sealPassword('', key, 'k1'), [key], 'k1')).toBe('');
    expect(() => openPassword(a, [key], 'k2')).toThrow(/does not authenticate/);
    expect(() => openPassword(a, [randomBytes(32)], 'k1')).toThrow(/not configured/);
    expect(openPassword(a, [randomBytes(32), key], 'k1')).toBe('guest-secret');
    expect(() => openPassword('v2.x.y', [key], 'k1')).toThrow(/unknown format/);
    expect(() => openPassword(a.slice(0, 20), [key], 'k1')).toThrow(/truncated/);
  });

  it('reads its key from the environment, refusing a missing or wrong-sized one', () => {
    expect(ticketKeyFromEnv({ [TICKET_KEY_ENV]: key.toString('base64') })).toEqual(key);
    expect(() => ticketKeyFromEnv({})).toThrow(TICKET_KEY_ENV);
    expect(() => ticketKeyFromEnv({ [TICKET_KEY_ENV]: randomBytes(16).toString('base64') })).toThrow(/32 bytes, got 16/);
  });
});
