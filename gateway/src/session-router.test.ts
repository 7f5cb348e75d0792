import { ChannelType, LinkError } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { SessionRouter } from './session-router';
import { MemoryTicketStore, type TicketRecord } from './tickets';

const SOURCE = { host: '10.0.0.1', port: 5901, password: 'guest-secret' };
const DEST = { host: '10.0.0.2', port: 5907, password: '' };
const DESKTOP = 'acme/vd-1';

function setup() {
  const tickets = new MemoryTicketStore();
  const log: { event: string; fields: Record<string, unknown> }[] = [];
  const router = new SessionRouter({ tickets, log: (event, fields) => log.push({ event, fields }) });
  const plain = new Map<string, string>();
  const mint = async (user = 'alice'): Promise<TicketRecord> => {
    const { ticket, ticketHash } = await tickets.mint({ user, tenant: 'acme', desktop: DESKTOP, upstream: SOURCE, ttlMs: 60_000 });
    plain.set(ticketHash, ticket);
    return (await tickets.redeem(ticket))!;
  };
  /** The record as the store has it now (binding included). */
  const current = async (r: TicketRecord): Promise<TicketRecord> => (await tickets.redeem(plain.get(r.ticketHash)!))!;
  /** A session as the link server makes one: decide → MAIN_INIT → started, then its channels. */
  let channelNo = 0;
  const open = async (record: TicketRecord, sessionId: number, types: number[] = [ChannelType.DISPLAY, ChannelType.INPUTS]) => {
    const d = await router.decide(record, ChannelType.MAIN, 0);
    if (d.kind !== 'new-session') throw new Error(`expected a new session, got ${JSON.stringify(d)}`);
    const key = `gs-${sessionId}`;
    expect(await router.started({ key, record, sessionId, target: d.target })).toBe(true);
    router.channelOpened(key, ++channelNo, ChannelType.MAIN, d.target, false);
    for (const t of types) router.channelOpened(key, ++channelNo, t, d.target, false);
    return key;
  };
  return { tickets, router, log, mint, current, open, nextChannel: () => ++channelNo };
}

describe('SessionRouter: who goes where', () => {
  it('a new session goes to the ticket upstream; a second session on a bound ticket is refused (7); secondaries need the session id (8)', async () => {
    const t = setup();
    const r = await t.mint();
    await t.open(r, 42);
    const bound = await t.current(r);
    expect(bound.sessionId).toBe(42);
    expect(await t.router.decide(bound, ChannelType.MAIN, 0)).toMatchObject({ kind: 'refuse', error: LinkError.PERMISSION_DENIED });
    expect(await t.router.decide(bound, ChannelType.DISPLAY, 41)).toMatchObject({ kind: 'refuse', error: LinkError.PERMISSION_DENIED });
    expect(await t.router.decide(bound, ChannelType.DISPLAY, 42)).toMatchObject({ kind: 'join', session: 'gs-42', target: SOURCE, toDestination: false });
    // Another user's ticket cannot join this session, whatever id it presents.
    expect(await t.router.decide(await t.mint('mallory'), ChannelType.INPUTS, 42)).toMatchObject({ kind: 'refuse', error: LinkError.PERMISSION_DENIED });
  });

  it('a main re-link with the session id is refused unless the desktop is migrating', async () => {
    const t = setup();
    const r = await t.mint();
    await t.open(r, 7);
    expect(await t.router.decide({ ...r, sessionId: 7 }, ChannelType.MAIN, 7)).toMatchObject({ kind: 'refuse', error: LinkError.PERMISSION_DENIED });
  });

  it('the session ending frees the ticket for a new session', async () => {
    const t = setup();
    const r = await t.mint();
    await t.open(r, 9);
    expect((await t.current(r)).sessionId).toBe(9);
    t.router.ended('gs-9');
    const again = await t.current(r);
    expect(again.sessionId).toBeUndefined();
    expect(await t.router.decide(again, ChannelType.MAIN, 0)).toMatchObject({ kind: 'new-session' });
  });
});

describe('SessionRouter: migration hand-over', () => {
  it('seamless: main and then secondaries with the session id go to the destination; ready after the ack and every type re-linked; finish moves the route', async () => {
    const t = setup();
    const r = await t.mint();
    const key = await t.open(r, 5);
    const bound = { ...r, sessionId: 5 };
    let result: unknown;
    const ready = t.router.prepare({ desktop: DESKTOP, destination: DEST, timeoutMs: 5_000 }).then((x) => (result = x));

    const main = await t.router.decide(bound, ChannelType.MAIN, 5);
    expect(main).toMatchObject({ kind: 'join', session: key, toDestination: true, target: { host: DEST.host, port: DEST.port, password: SOURCE.password } });
    t.router.channelOpened(key, t.nextChannel(), ChannelType.MAIN, DEST, true);
    t.router.mainEvent(key, 'dst-ack');
    const display = await t.router.decide(bound, ChannelType.DISPLAY, 5);
    expect(display).toMatchObject({ kind: 'join', toDestination: true, target: { host: DEST.host } });
    t.router.channelOpened(key, t.nextChannel(), ChannelType.DISPLAY, DEST, true);
    await new Promise((r) => setTimeout(r, 10));
    expect(result).toBeUndefined(); // inputs not re-linked yet
    t.router.channelOpened(key, t.nextChannel(), ChannelType.INPUTS, DEST, true);
    await ready;
    expect(result).toEqual({ sessions: 1, ready: 1, timedOut: false });

    await t.router.finish({ desktop: DESKTOP, succeeded: true });
    expect(t.router.targetOf(key)).toMatchObject({ host: DEST.host, port: DEST.port, password: SOURCE.password });
    expect(await t.tickets.route(DESKTOP)).toMatchObject({ host: DEST.host, port: DEST.port });
    // After the move, secondaries of the session go to its new home.
    expect(await t.router.decide(bound, ChannelType.CURSOR, 5)).toMatchObject({ kind: 'join', toDestination: false, target: { host: DEST.host } });
  });

  it('a seamless main re-link that comes before prepare() waits for it (bounded)', async () => {
    const t = setup();
    const r = await t.mint();
    const key = await t.open(r, 51);
    const early = t.router.decide({ ...r, sessionId: 51 }, ChannelType.MAIN, 51, 2_000);
    await new Promise((res) => setTimeout(res, 30));
    void t.router.prepare({ desktop: DESKTOP, destination: DEST, timeoutMs: 50 });
    expect(await early).toMatchObject({ kind: 'join', session: key, toDestination: true, target: { host: DEST.host } });
    await t.router.finish({ desktop: DESKTOP, succeeded: false });
    const late = await t.router.decide({ ...r, sessionId: 51 }, ChannelType.MAIN, 51, 40);
    expect(late).toMatchObject({ kind: 'refuse', error: LinkError.PERMISSION_DENIED });
  });

  it('a browser (WebSocket) session cannot follow a migration: prepare does not wait for it', async () => {
    const t = setup();
    const r = await t.mint();
    const d = await t.router.decide(r, ChannelType.MAIN, 0);
    if (d.kind !== 'new-session') throw new Error('expected a new session');
    expect(await t.router.started({ key: 'gs-ws', record: r, sessionId: 61, target: d.target, transport: 'websocket' })).toBe(true);
    t.router.channelOpened('gs-ws', t.nextChannel(), ChannelType.DISPLAY, d.target, false);
    expect(await t.router.prepare({ desktop: DESKTOP, destination: DEST, timeoutMs: 2_000 })).toEqual({ sessions: 1, ready: 1, timedOut: false });
  });

  it('prepare with no sessions is ready at once; with a client that never comes it times out', async () => {
    const t = setup();
    expect(await t.router.prepare({ desktop: 'acme/empty', destination: DEST, timeoutMs: 5_000 })).toEqual({ sessions: 0, ready: 0, timedOut: false });
    await t.open(await t.mint(), 3);
    expect(await t.router.prepare({ desktop: DESKTOP, destination: DEST, timeoutMs: 50 })).toEqual({ sessions: 1, ready: 0, timedOut: true });
  });

  it('fallback: after SWITCH_HOST the same ticket starts a new session on the destination and the ticket is re-bound', async () => {
    const t = setup();
    const r = await t.mint();
    const old = await t.open(r, 11);
    void t.router.prepare({ desktop: DESKTOP, destination: DEST, timeoutMs: 50 });
    t.router.mainEvent(old, 'switch-host');
    const d = await t.router.decide({ ...r, sessionId: 11 }, ChannelType.MAIN, 0);
    expect(d).toMatchObject({ kind: 'new-session', replaces: old, target: { host: DEST.host, password: SOURCE.password } });
    if (d.kind !== 'new-session') return;
    expect(await t.router.started({ key: 'gs-12', record: r, sessionId: 12, target: d.target, replaces: old })).toBe(true);
    expect((await t.current(r)).sessionId).toBe(12);
    expect(t.log.some((l) => l.event === 'session.migrated' && l.fields.path === 'fallback')).toBe(true);
    // The old session's lingering channels ending does not unbind the new one.
    t.router.ended(old);
    expect(await t.router.decide({ ...r, sessionId: 12 }, ChannelType.DISPLAY, 12)).toMatchObject({ kind: 'join', session: 'gs-12' });
    expect(await t.router.decide({ ...r, sessionId: 12 }, ChannelType.DISPLAY, 11)).toMatchObject({ kind: 'refuse' });
  });

  it('fallback when the old session is gone before the client comes back: the ticket stays bound for it, then re-binds', async () => {
    const t = setup();
    const r = await t.mint();
    const old = await t.open(r, 31);
    void t.router.prepare({ desktop: DESKTOP, destination: DEST, timeoutMs: 50 });
    t.router.mainEvent(old, 'switch-host');
    t.router.ended(old); // every old channel closed first
    expect((await t.current(r)).sessionId).toBe(31); // not unbound: the client is on its way back
    const d = await t.router.decide({ ...r, sessionId: 31 }, ChannelType.MAIN, 0);
    expect(d).toMatchObject({ kind: 'new-session', replaces: old, target: { host: DEST.host } });
    if (d.kind !== 'new-session') return;
    expect(await t.router.started({ key: 'gs-32', record: r, sessionId: 32, target: d.target, replaces: old })).toBe(true);
    expect((await t.current(r)).sessionId).toBe(32);
  });

  it('a failed migration leaves the session and the route on the source', async () => {
    const t = setup();
    const r = await t.mint();
    const key = await t.open(r, 21);
    void t.router.prepare({ desktop: DESKTOP, destination: DEST, timeoutMs: 50 });
    t.router.channelOpened(key, t.nextChannel(), ChannelType.MAIN, DEST, true);
    await t.router.finish({ desktop: DESKTOP, succeeded: false });
    expect(t.router.targetOf(key)).toEqual(SOURCE);
    expect(await t.tickets.route(DESKTOP)).toBeUndefined();
    expect(await t.router.decide({ ...r, sessionId: 21 }, ChannelType.MAIN, 21)).toMatchObject({ kind: 'refuse' });
  });
});
