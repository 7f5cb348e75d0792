import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { DisplayClientMessage, SpiceChannelError, encodeDisplayInitFrame, encodeMiniFrame } from '@deskplane/spice-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { DisplayGuard } from './display-guard';

const init = encodeDisplayInitFrame({ pixmapCacheId: 1, pixmapCacheSize: 4_000_000, glzDictionaryId: 1, glzDictionaryWindowSize: 2_000_000 });
const tail = Buffer.concat([encodeMiniFrame(1, Buffer.alloc(4, 7)), encodeMiniFrame(DisplayClientMessage.PREFERRED_COMPRESSION, Buffer.from([3]))]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function feedAll(guard: DisplayGuard, pieces: Buffer[]): Buffer {
  return Buffer.concat(pieces.map((p) => guard.filter(p)));
}

describe('DisplayGuard.filter', () => {
  it('holds a partial first message back, then passes the DISPLAY_INIT and everything after', () => {
    const guard = new DisplayGuard();
    expect(guard.filter(init.subarray(0, 8))).toHaveLength(0);
    expect(guard.firstMessageSeen).toBe(false);
    expect(guard.heldByteCount).toBe(8);
    expect(guard.filter(Buffer.concat([init.subarray(8), tail]))).toEqual(Buffer.concat([init, tail]));
    expect(guard.firstMessageSeen).toBe(true);
    expect(guard.filter(tail)).toBe(tail); // then a plain pass-through, no copy
  });

  it('gives the same bytes for every split of the first message', () => {
    const stream = Buffer.concat([init, tail]);
    for (let at = 0; at <= stream.length; at++) {
      const guard = new DisplayGuard();
      expect(feedAll(guard, [stream.subarray(0, at), stream.subarray(at)]), `split at ${at}`).toEqual(stream);
    }
    expect(feedAll(new DisplayGuard(), [...stream].map((b) => Buffer.from([b])))).toEqual(stream);
  });

  it.each([
    ['another message type first (ACK_SYNC)', encodeMiniFrame(1, Buffer.alloc(4))],
    ['an unknown type', encodeMiniFrame(999)],
    ['DISPLAY_INIT with a short body', encodeMiniFrame(DisplayClientMessage.INIT, Buffer.alloc(4))],
    ['DISPLAY_INIT claiming 4 GiB', Buffer.from([101, 0, 0xff, 0xff, 0xff, 0xff])],
  ])('refuses %s as soon as its header is in, and keeps refusing', (_name, first) => {
    const guard = new DisplayGuard();
    expect(guard.filter(first.subarray(0, 5))).toHaveLength(0);
    expect(() => guard.filter(first.subarray(5, 6))).toThrow(SpiceChannelError);
    expect(() => guard.filter(init)).toThrow(/first message is type/);
    expect(guard.firstMessageSeen).toBe(false);
    expect(guard.heldByteCount).toBe(0);
  });

  it('with a release sink, lets only the DISPLAY_INIT through at once and the rest after settleMs', async () => {
    const released: Buffer[] = [];
    const guard = new DisplayGuard({ release: (b) => released.push(b), settleMs: 40 });
    const started = Date.now();
    expect(guard.filter(Buffer.concat([init, tail.subarray(0, 3)]))).toEqual(init);
    expect(guard.filter(tail.subarray(3))).toHaveLength(0);
    expect(guard.heldByteCount).toBe(tail.length);
    await sleep(15);
    expect(released).toHaveLength(0);
    await sleep(60);
    expect(Buffer.concat(released)).toEqual(tail);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(guard.filter(tail)).toBe(tail);
  });

  it('reports overflow while settling instead of holding without bound', () => {
    const guard = new DisplayGuard({ release: () => undefined, settleMs: 10_000, maxHeldBytes: 100 });
    guard.filter(init);
    guard.filter(Buffer.alloc(60));
    expect(() => guard.filter(Buffer.alloc(41))).toThrow(/over 100 bytes/);
    expect(guard.heldByteCount).toBe(0);
  });
});

/** A real loopback socket pair: what the guard writes and when the far end sees the close. */
async function socketPair(): Promise<{ upstream: Socket; received: () => Buffer; closedAt: Promise<number>; server: Server }> {
  const chunks: Buffer[] = [];
  let resolveClosed!: (t: number) => void;
  const closedAt = new Promise<number>((r) => (resolveClosed = r));
  const server = createServer((s) => {
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => resolveClosed(Date.now()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const upstream = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await once(upstream, 'connect');
  return { upstream, received: () => Buffer.concat(chunks), closedAt, server };
}

describe('DisplayGuard.closeUpstream', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('sends its own DISPLAY_INIT when none reached the guest, then closes after the delay', async () => {
    const pair = await socketPair();
    servers.push(pair.server);
    const guard = new DisplayGuard();
    guard.filter(init.subarray(0, 10)); // a partial first message is never forwarded
    const started = Date.now();
    guard.closeUpstream(pair.upstream, 150);
    guard.closeUpstream(pair.upstream, 0); // idempotent: the first call's plan stands
    expect(pair.upstream.destroyed).toBe(false);
    const closedAt = await pair.closedAt;
    expect(closedAt - started).toBeGreaterThanOrEqual(140);
    expect(pair.received()).toEqual(encodeDisplayInitFrame());
    expect(guard.filter(tail)).toHaveLength(0);
  });

  it('after a bad first message, still makes the guest see a DISPLAY_INIT before the close', async () => {
    const pair = await socketPair();
    servers.push(pair.server);
    const guard = new DisplayGuard();
    expect(() => guard.filter(encodeMiniFrame(999))).toThrow();
    guard.closeUpstream(pair.upstream, 50);
    await pair.closedAt;
    expect(pair.received()).toEqual(encodeDisplayInitFrame());
  });

  it('waits out the rest of the delay when the client closes right after its DISPLAY_INIT', async () => {
    const pair = await socketPair();
    servers.push(pair.server);
    let now = 1_000;
    const guard = new DisplayGuard({ now: () => now });
    pair.upstream.write(guard.filter(init));
    now += 400; // 400 ms since the init: 100 ms left of 500
    const started = Date.now();
    guard.closeUpstream(pair.upstream, 500);
    const closedAt = await pair.closedAt;
    expect(closedAt - started).toBeGreaterThanOrEqual(90);
    expect(closedAt - started).toBeLessThan(400);
    expect(pair.received()).toEqual(init); // nothing of its own added
  });

  it('closes at once when the DISPLAY_INIT reached the guest long enough ago', async () => {
    const pair = await socketPair();
    servers.push(pair.server);
    let now = 1_000;
    const guard = new DisplayGuard({ now: () => now });
    pair.upstream.write(guard.filter(init));
    now += 600;
    guard.closeUpstream(pair.upstream, 500);
    expect(pair.upstream.destroyed).toBe(true);
  });

  it('initUpstream: sends one DISPLAY_INIT, says how long the session must wait, then drops client bytes', async () => {
    const pair = await socketPair();
    servers.push(pair.server);
    let now = 5_000;
    const guard = new DisplayGuard({ now: () => now });
    guard.filter(init.subarray(0, 3));
    expect(guard.initUpstream(pair.upstream, 500)).toBe(500);
    now += 200;
    expect(guard.initUpstream(pair.upstream, 500)).toBe(300); // no second init, the same deadline
    expect(guard.filter(init)).toHaveLength(0);
    now += 400;
    guard.closeUpstream(pair.upstream, 500);
    expect(pair.upstream.destroyed).toBe(true);
    await pair.closedAt;
    expect(pair.received()).toEqual(encodeDisplayInitFrame());
  });

  it("initUpstream after the client's own DISPLAY_INIT sends nothing and counts from it", async () => {
    const pair = await socketPair();
    servers.push(pair.server);
    let now = 0;
    const guard = new DisplayGuard({ now: () => now });
    pair.upstream.write(guard.filter(init));
    now += 100;
    expect(guard.initUpstream(pair.upstream, 500)).toBe(400);
    pair.upstream.destroy();
    await pair.closedAt;
    expect(pair.received()).toEqual(init);
  });

  it('drops bytes still settling when the channel closes', async () => {
    const pair = await socketPair();
    servers.push(pair.server);
    const released: Buffer[] = [];
    const guard = new DisplayGuard({ release: (b) => released.push(b), settleMs: 30 });
    pair.upstream.write(guard.filter(Buffer.concat([init, tail])));
    guard.closeUpstream(pair.upstream, 60);
    await pair.closedAt;
    await sleep(40);
    expect(released).toHaveLength(0);
    expect(pair.received()).toEqual(init);
  });
});
