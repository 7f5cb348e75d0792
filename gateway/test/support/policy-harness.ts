import { execFile } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import type { Viewer } from '@deskplane/testbed';
import { HOST } from './qemu';

/** One connection the gateway made to the guest, as the guest saw it. */
export interface RelayedLink {
  /** From the link message the gateway sent (byte 20 of SpiceLinkHeader + SpiceLinkMess). */
  channelType: number | undefined;
  /** Guest → gateway bytes, and gateway → guest. */
  fromGuest: number;
  toGuest: number;
  openedAt: number;
  closed: boolean;
}

export interface CountingRelay {
  port: number;
  /** Every connection so far, in order. */
  links(): readonly RelayedLink[];
  close(): Promise<void>;
}

/** Offset of channel_type in a client link: magic, major, minor, size, connection_id (4 bytes each). */
const CHANNEL_TYPE_OFFSET = 20;

/**
 * A TCP relay in front of a guest's SPICE port that records what reached the guest: one
 * entry per connection with its channel type and bytes each way. It relays with pipe(), so
 * backpressure from the gateway reaches QEMU as it would without the relay — the bytes the
 * guest managed to send are what the gateway let it send.
 */
export async function countingRelay(targetPort: number): Promise<CountingRelay> {
  const links: RelayedLink[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const link: RelayedLink = { channelType: undefined, fromGuest: 0, toGuest: 0, openedAt: Date.now(), closed: false };
    links.push(link);
    const up = connect({ host: HOST, port: targetPort });
    let head = Buffer.alloc(0);
    client.on('data', (c: Buffer) => {
      link.toGuest += c.length;
      if (link.channelType === undefined) {
        head = Buffer.concat([head, c]);
        if (head.length > CHANNEL_TYPE_OFFSET) link.channelType = head[CHANNEL_TYPE_OFFSET];
      }
    });
    up.on('data', (c: Buffer) => void (link.fromGuest += c.length));
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        link.closed = true;
        client.destroy();
        up.destroy();
      });
    }
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return {
    port: (server.address() as { port: number }).port,
    links: () => links,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const run = promisify(execFile);

/**
 * Real X input into the viewer's screen through XTEST (xdotool): a click on the guest's
 * picture and a key. remote-viewer turns both into inputs-channel messages to the guest.
 */
export async function sendInput(v: Viewer): Promise<void> {
  await run('xdotool', ['mousemove', '400', '300', 'click', '1', 'type', 'x'], { env: { ...process.env, DISPLAY: v.display }, timeout: 5_000 });
}

/** Polls `check` until it returns a value other than undefined/false; throws `what` at the timeout. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Byte rates of several counters over the same window: each counter is read at the start
 * and the end, and the rate is bytes per second of the window's measured length.
 */
export async function ratesOver(counters: ReadonlyArray<() => number>, ms: number): Promise<number[]> {
  const start = counters.map((c) => c());
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const end = counters.map((c) => c());
  const seconds = (performance.now() - t0) / 1000;
  return end.map((b, i) => (b - start[i]!) / seconds);
}
