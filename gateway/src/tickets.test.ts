import { ChannelType, LinkError } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { MemoryTicketStore, checkBinding, hashTicket, type TicketRecord } from './tickets';

const upstream = { host: '127.0.0.1', port: 5900, password: 'guest-secret' };
const req = { user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream, ttlMs: 1_000 };

function clockedStore(): { store: MemoryTicketStore; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { store: new MemoryTicketStore({ now: () => t }), advance: (ms) => void (t += ms) };
}

describe('MemoryTicketStore', () => {
  it('mints base64url tickets that fit a SPICE password and are stored only hashed', async () => {
    const { store } = clockedStore();
    const { ticket, ticketHash } = await store.mint(req);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Buffer.byteLength(ticket)).toBeLessThanOrEqual(59);
    expect(ticketHash).toBe(hashTicket(ticket));
    expect(ticketHash).not.toContain(ticket);
    const record = await store.redeem(ticket);
    expect(record).toMatchObject({ ticketHash, user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream });
    expect(JSON.stringify(record)).not.toContain(ticket);
  });

  it('gives distinct tickets', async () => {
    const { store } = clockedStore();
    const a = await store.mint(req);
    const b = await store.mint(req);
    expect(a.ticket).not.toBe(b.ticket);
  });

  it('refuses unknown tickets and a non-positive TTL', async () => {
    const { store } = clockedStore();
    expect(await store.redeem('nope')).toBeUndefined();
    await expect(store.mint({ ...req, ttlMs: 0 })).rejects.toThrow(RangeError);
  });

  it('expires at the TTL (injected clock), and sweeps expired records on mint', async () => {
    const { store, advance } = clockedStore();
    const { ticket } = await store.mint(req);
    advance(999);
    expect(await store.redeem(ticket)).toBeDefined();
    advance(1);
    expect(await store.redeem(ticket)).toBeUndefined();
    await store.mint(req);
    expect(store.size).toBe(1);
  });

  it('binds to one session; stays valid past the TTL while bound; unbind restores the TTL', async () => {
    const { store, advance } = clockedStore();
    const { ticket, ticketHash } = await store.mint(req);
    expect(await store.bind(ticketHash, 42)).toBe(true);
    expect(await store.bind(ticketHash, 42)).toBe(true);
    expect(await store.bind(ticketHash, 43)).toBe(false);
    advance(5_000);
    expect((await store.redeem(ticket))?.sessionId).toBe(42);
    await store.unbind(ticketHash, 43); // not its session: no effect
    expect(await store.redeem(ticket)).toBeDefined();
    await store.unbind(ticketHash, 42);
    expect(await store.redeem(ticket)).toBeUndefined();
  });

  it('cannot bind an expired or revoked ticket; revoke ends it at once', async () => {
    const { store, advance } = clockedStore();
    const a = await store.mint(req);
    const b = await store.mint(req);
    await store.revoke(a.ticketHash);
    expect(await store.redeem(a.ticket)).toBeUndefined();
    expect(await store.bind(a.ticketHash, 1)).toBe(false);
    advance(1_000);
    expect(await store.bind(b.ticketHash, 1)).toBe(false);
  });

  it('returns copies: changing a redeemed record changes nothing stored', async () => {
    const { store } = clockedStore();
    const { ticket } = await store.mint(req);
    const r = (await store.redeem(ticket))!;
    r.upstream.password = 'x';
    r.sessionId = 9;
    const again = (await store.redeem(ticket))!;
    expect(again.upstream).toEqual(upstream);
    expect(again.sessionId).toBeUndefined();
  });
});

describe('checkBinding', () => {
  const base: TicketRecord = { ticketHash: 'h', user: 'u', tenant: 't', desktop: 'd', upstream, expiresAt: 0 };
  const bound = { ...base, sessionId: 77 };
  it.each([
    ['main, new session, unbound ticket', base, ChannelType.MAIN, 0, LinkError.OK],
    ['main, new session, ticket already in a session', bound, ChannelType.MAIN, 0, LinkError.PERMISSION_DENIED],
    ['main with a connection id (migration: not routed yet)', bound, ChannelType.MAIN, 77, LinkError.BAD_CONNECTION_ID],
    ['inputs with the bound session id', bound, ChannelType.INPUTS, 77, LinkError.OK],
    ['inputs with another session id', bound, ChannelType.INPUTS, 78, LinkError.BAD_CONNECTION_ID],
    ['display with connection id 0', bound, ChannelType.DISPLAY, 0, LinkError.BAD_CONNECTION_ID],
    ['display before any main channel', base, ChannelType.DISPLAY, 77, LinkError.BAD_CONNECTION_ID],
  ])('%s', (_name, record, type, id, expected) => {
    expect(checkBinding(record, type, id, ChannelType.MAIN)).toBe(expected);
  });
});
