import { randomBytes } from 'node:crypto';
import { ChannelType, DisplayClientMessage, encodeDisplayInitFrame, encodeMiniFrame } from '@deskplane/spice-protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { linkUntil, sleep, statusWithin, type Stepped } from './support/close-steps';
import { isAlive, startGuest, stopGuest, type Guest } from './support/guest';
import { HOST } from './support/qemu';

/**
 * spice-server 0.15.1 segfaults QEMU when a display channel closes before it has taken in
 * a DISPLAY_INIT. These tests close a client at every point of a connect, through the
 * gateway, and require the guest to survive each one and still accept a new session.
 */

/** spice-server's crash follows the close within ~250 ms (measured); wait well past the guard's 500 ms too. */
const SETTLE_MS = 1_500;

/** The guest is up, running, and takes a whole new session through the gateway. */
async function expectGuestServes(guest: Guest, port: number, mint: () => Promise<string>): Promise<void> {
  expect(isAlive(guest), `QEMU exit ${guest.child.exitCode} / ${guest.child.signalCode}`).toBe(true);
  expect(await statusWithin(guest, 3_000)).toBe('running');
  const ticket = await mint();
  const main = await linkUntil(port, ticket, 'mainInit');
  try {
    expect(main.sessionId).toBeGreaterThan(0);
    const display = await linkUntil(port, ticket, 'result', ChannelType.DISPLAY, main.sessionId);
    display.socket.write(encodeDisplayInitFrame());
    await sleep(300);
    display.socket.destroy();
  } finally {
    main.socket.destroy();
  }
  await sleep(300);
  expect(isAlive(guest)).toBe(true);
}

describe('the hazard, straight to QEMU (no gateway)', () => {
  it('closing a display channel before DISPLAY_INIT kills QEMU; DISPLAY_INIT + 500 ms first does not', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const guest = await startGuest({ password });
    try {
      // Control: the recipe the guard follows.
      const main = await linkUntil(guest.spicePort, password, 'mainInit');
      const safe = await linkUntil(guest.spicePort, password, 'result', ChannelType.DISPLAY, main.sessionId);
      safe.socket.write(encodeDisplayInitFrame());
      await sleep(500);
      safe.socket.destroy();
      await sleep(SETTLE_MS);
      expect(isAlive(guest)).toBe(true);

      const bare = await linkUntil(guest.spicePort, password, 'result', ChannelType.DISPLAY, main.sessionId);
      const closedAt = Date.now();
      bare.socket.destroy();
      const exit = await Promise.race([
        new Promise<string>((r) => guest.child.once('exit', (_code, signal) => r(`${signal} after ${Date.now() - closedAt} ms`))),
        sleep(5_000).then(() => 'still running'),
      ]);
      expect(exit).toMatch(/^SIGSEGV after \d+ ms$/);
      main.socket.destroy();
    } finally {
      await stopGuest(guest);
    }
  }, 60_000);
});

describe('the second hazard, straight to QEMU: a main channel reset while a display channel has no DISPLAY_INIT', () => {
  // Reproducing spice-server's freeze is timing-dependent (7 of 8 runs when measured), so the
  // test asserts only what the gateway relies on — DISPLAY_INIT first keeps QEMU answering —
  // and logs what happened without it.
  it('with DISPLAY_INIT first QEMU keeps answering (without it, it usually freezes: logged)', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const guest = await startGuest({ password });
    try {
      const reset = async (init: boolean): Promise<string> => {
        const main = await linkUntil(guest.spicePort, password, 'mainInit');
        const display = await linkUntil(guest.spicePort, password, 'result', ChannelType.DISPLAY, main.sessionId);
        if (init) {
          display.socket.write(encodeDisplayInitFrame());
          await sleep(500);
        }
        main.socket.resetAndDestroy();
        await sleep(300);
        const status = await statusWithin(guest, 3_000);
        display.socket.destroy();
        return status;
      };
      expect(await reset(true)).toBe('running');
      console.log(`main reset with a display channel lacking DISPLAY_INIT: QEMU status ${await reset(false)} (spice-server 0.15.1 usually: no answer)`);
    } finally {
      await stopGuest(guest);
    }
  }, 60_000);
});

describe('closing a client at every point of a connect, through the gateway', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  let guest: Guest | undefined;
  let gw: Gateway | undefined;
  let restarts = 0;

  const mint = async (): Promise<string> =>
    (await tickets.mint({ user: 'alice', tenant: 'acme', desktop: 'ns/vd-close', upstream: { host: HOST, port: guest!.spicePort, password }, ttlMs: 600_000 }))
      .ticket;
  /** A live main channel to hang secondary channels on. */
  const session = async (): Promise<{ ticket: string; main: Stepped; sessionId: number }> => {
    const ticket = await mint();
    const main = await linkUntil(gw!.port, ticket, 'mainInit');
    return { ticket, main, sessionId: main.sessionId ?? 0 };
  };
  const after = async (): Promise<void> => {
    await sleep(SETTLE_MS);
    await expectGuestServes(guest!, gw!.port, mint);
  };

  beforeAll(async () => {
    guest = await startGuest({ password });
    const log = (event: string, fields: Record<string, unknown>): void => void logs.push({ event, fields });
    gw = await startGateway({ listen: { host: HOST, port: 0 }, tickets, log, handshakeTimeoutMs: 5_000, failedTickets: { maxFailures: 1_000 } });
  }, 60_000);

  // A case that killed or froze the guest must not fail the ones after it: they get a fresh guest.
  beforeEach(async () => {
    if (guest !== undefined && isAlive(guest) && (await statusWithin(guest, 3_000)) === 'running') return;
    restarts++;
    if (guest !== undefined) await stopGuest(guest);
    guest = await startGuest({ password });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    if (guest !== undefined) await stopGuest(guest);
  });

  describe.each([
    ['after TCP connect', 'connected'],
    ['mid link message', 'midLink'],
    ['after the link reply', 'reply'],
    ['mid ticket', 'midTicket'],
    ['after the ticket, before the result', 'ticketSent'],
    ['right after the link result', 'result'],
    ['after MAIN_INIT', 'mainInit'],
  ] as const)('main channel: %s', (_name, stop) => {
    it('leaves the guest running and serving', async () => {
      const { socket } = await linkUntil(gw!.port, await mint(), stop);
      socket.destroy();
      await after();
    });
  });

  describe.each([
    ['display', ChannelType.DISPLAY],
    ['inputs', ChannelType.INPUTS],
    ['cursor', ChannelType.CURSOR],
  ] as const)('%s channel', (_name, channelType) => {
    it.each([['mid link message', 'midLink'], ['after the link reply', 'reply'], ['mid ticket', 'midTicket'], ['after the ticket, before the result', 'ticketSent'], ['linked, before its first message', 'result']] as const)(
      'closed %s: the guest keeps running and serving',
      async (_point, stop) => {
        const { ticket, main, sessionId } = await session();
        const channel = await linkUntil(gw!.port, ticket, stop, channelType, sessionId);
        channel.socket.destroy();
        await sleep(SETTLE_MS);
        main.socket.destroy();
        await after();
      },
    );

    it('closed after a partial first message: the guest keeps running and serving', async () => {
      const { ticket, main, sessionId } = await session();
      const channel = await linkUntil(gw!.port, ticket, 'result', channelType, sessionId);
      channel.socket.write(encodeDisplayInitFrame().subarray(0, 8));
      await sleep(200);
      channel.socket.destroy();
      await sleep(SETTLE_MS);
      main.socket.destroy();
      await after();
    });
  });

  it.each([
    ['another message type first (ACK_SYNC)', encodeMiniFrame(1, Buffer.alloc(4))],
    ['an unparseable message first', encodeMiniFrame(999)],
    ['DISPLAY_INIT, then an immediate close', encodeDisplayInitFrame()],
    ['DISPLAY_INIT and an unparseable message in one packet', Buffer.concat([encodeDisplayInitFrame(), encodeMiniFrame(999)])],
    ['DISPLAY_INIT with a short body', encodeMiniFrame(DisplayClientMessage.INIT, Buffer.alloc(4))],
  ])('display channel: %s — the guest keeps running and serving', async (_name, bytes) => {
    const { ticket, main, sessionId } = await session();
    const display = await linkUntil(gw!.port, ticket, 'result', ChannelType.DISPLAY, sessionId);
    display.socket.end(bytes); // the bytes, then FIN at once
    await sleep(SETTLE_MS);
    main.socket.destroy();
    await after();
  });

  it.each([['closed', false], ['reset', true]])('main %s while a display channel has sent nothing: the guest survives', async (_how, rst) => {
    const { ticket, main, sessionId } = await session();
    const display = await linkUntil(gw!.port, ticket, 'result', ChannelType.DISPLAY, sessionId);
    const displayClosed = new Promise<void>((r) => display.socket.once('close', () => r()));
    if (rst) main.socket.resetAndDestroy();
    else main.socket.destroy();
    await Promise.race([displayClosed, sleep(3_000)]);
    await after();
  });

  it('a session killed by the gateway while its display channel has sent nothing: the guest survives', async () => {
    const { ticket, sessionId } = await session();
    await linkUntil(gw!.port, ticket, 'result', ChannelType.DISPLAY, sessionId);
    const live = gw!.sessions.list({ desktop: 'ns/vd-close' });
    expect(live.length).toBeGreaterThan(0);
    for (const s of live) gw!.sessions.kill(s.key, 'test kill');
    await after();
  });

  it('the gateway stopping with a display channel that has sent nothing: the guest survives', async () => {
    const other = await startGateway({ listen: { host: HOST, port: 0 }, tickets, handshakeTimeoutMs: 5_000 });
    const ticket = await mint();
    const main = await linkUntil(other.port, ticket, 'mainInit');
    await linkUntil(other.port, ticket, 'result', ChannelType.DISPLAY, main.sessionId);
    await other.close();
    await after();
  });

  it('needed no guest restarts: no case took the guest down', () => {
    expect(restarts).toBe(0);
  });
});
