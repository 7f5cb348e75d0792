import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ChannelType, ClientLinkDecoder, encodeDisplayInitFrame, encodeMiniFrame } from '@deskplane/spice-protocol';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DisplayGuard } from '../src/display-guard';
import { linkUntil, sleep, statusWithin } from './support/close-steps';
import { isAlive, startGuest, stopGuest, type Guest } from './support/guest';
import { HOST } from './support/qemu';

/**
 * DisplayGuard on its own, in front of a real booting guest, in a throwaway relay wired
 * the way the gateway's splice should use it: the link phase passes through untouched,
 * then client → guest display bytes go through `filter` (late bytes via `release`), a
 * client that goes away is closed through `closeUpstream` (never `upstream.end()`), and a
 * main channel that goes away first has every display channel `initUpstream`ed and waits.
 */

interface Display {
  guard: DisplayGuard;
  upstream: Socket;
}

function guardedRelay(target: number): Promise<{ port: number; server: Server }> {
  const displays = new Set<Display>();
  const server = createServer((client) => {
    const upstream = connect({ host: HOST, port: target });
    const decoder = new ClientLinkDecoder();
    let channelType = 0;
    let display: Display | undefined;
    for (const s of [client, upstream]) s.on('error', () => undefined);
    upstream.on('data', (c: Buffer) => client.write(c));
    upstream.on('close', () => client.destroy());
    const toGuest = (chunk: Buffer): void => {
      if (display === undefined) return void upstream.write(chunk);
      try {
        upstream.write(display.guard.filter(chunk));
      } catch {
        client.destroy(); // a bad first message: the close below makes it safe
      }
    };
    client.on('data', (chunk: Buffer) => {
      if (decoder.isDone || decoder.currentState === 'failed') return toGuest(chunk);
      try {
        for (const m of decoder.feed(chunk)) if (m.kind === 'linkMessage') channelType = m.channelType;
      } catch {
        return void upstream.write(chunk); // spice-server refuses it itself
      }
      if (!decoder.isDone) return void upstream.write(chunk);
      const rest = decoder.takeRemainder();
      upstream.write(chunk.subarray(0, chunk.length - rest.length));
      if (channelType === ChannelType.DISPLAY) {
        display = { guard: new DisplayGuard({ release: (b) => upstream.write(b) }), upstream };
        displays.add(display);
      }
      if (rest.length > 0) toGuest(rest);
    });
    client.on('close', () => {
      if (display !== undefined) {
        displays.delete(display);
        return display.guard.closeUpstream(upstream);
      }
      if (channelType !== ChannelType.MAIN) return void upstream.destroy();
      // A main channel reset while a display channel has no DISPLAY_INIT froze QEMU: init them all first.
      const waitMs = Math.max(0, ...[...displays].map((d) => d.guard.initUpstream(d.upstream)));
      setTimeout(() => upstream.destroy(), waitMs);
    });
  });
  return new Promise((resolve) => server.listen(0, HOST, () => resolve({ port: (server.address() as { port: number }).port, server })));
}

describe('DisplayGuard in a minimal relay in front of a booting guest', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  let guest: Guest | undefined;
  let relay: { port: number; server: Server } | undefined;
  let restarts = 0;

  beforeEach(async () => {
    if (guest !== undefined && isAlive(guest) && (await statusWithin(guest, 3_000)) === 'running') return;
    if (guest !== undefined) {
      restarts++;
      await stopGuest(guest);
    }
    relay?.server.close();
    guest = await startGuest({ password });
    relay = await guardedRelay(guest.spicePort);
  }, 60_000);

  afterAll(async () => {
    relay?.server.close();
    if (guest !== undefined) await stopGuest(guest);
  });

  const openDisplay = async (): Promise<{ main: Socket; display: Socket }> => {
    const main = await linkUntil(relay!.port, password, 'mainInit');
    const display = await linkUntil(relay!.port, password, 'result', ChannelType.DISPLAY, main.sessionId);
    return { main: main.socket, display: display.socket };
  };
  const expectServing = async (): Promise<void> => {
    await sleep(1_500);
    expect(isAlive(guest!), `QEMU ${guest!.child.signalCode}`).toBe(true);
    expect(await statusWithin(guest!, 3_000)).toBe('running');
    const { main, display } = await openDisplay();
    display.write(encodeDisplayInitFrame());
    await sleep(300);
    display.destroy();
    await sleep(600);
    main.destroy();
    await sleep(300);
    expect(await statusWithin(guest!, 3_000)).toBe('running');
  };

  it.each([
    ['linked, nothing sent', Buffer.alloc(0)],
    ['part of DISPLAY_INIT', encodeDisplayInitFrame().subarray(0, 8)],
    ['DISPLAY_INIT, then an immediate close', encodeDisplayInitFrame()],
    ['DISPLAY_INIT and an unparseable message in one packet', Buffer.concat([encodeDisplayInitFrame(), encodeMiniFrame(999)])],
    ['another message type first (ACK_SYNC)', encodeMiniFrame(1, Buffer.alloc(4))],
  ])('display closed after %s: the guest keeps running and serving', async (_name, bytes) => {
    const { main, display } = await openDisplay();
    display.end(bytes);
    await sleep(1_500);
    main.destroy();
    await expectServing();
  });

  it('main reset while a display channel has sent nothing: the guest keeps running and serving', async () => {
    const { main, display } = await openDisplay();
    main.resetAndDestroy();
    await sleep(1_500);
    display.destroy();
    await expectServing();
  });

  it('needed no guest restarts', () => {
    expect(restarts).toBe(0);
  });
});
