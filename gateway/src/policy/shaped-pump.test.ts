import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SLEEP_MS, shapedPump, type ShapedPump, type ShapedPumpOptions } from './shaped-pump';
import { TokenBucket } from './token-bucket';

// Real loopback sockets throughout: sender → [src | pump | dst] → sink.

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => server.close());
  return { server, port: (server.address() as AddressInfo).port };
}

/** Counts what arrives; `paused` starts it not reading (its kernel buffer fills, then the pump's dst blocks). */
async function sink(opts: { paused?: boolean } = {}) {
  const state = { received: 0, ended: false, socket: undefined as Socket | undefined };
  const { port } = await listen((s) => {
    state.socket = s;
    cleanups.push(() => s.destroy());
    s.on('data', (c: Buffer) => (state.received += c.length));
    s.on('end', () => (state.ended = true));
    if (opts.paused) s.pause();
  });
  return { port, state };
}

interface Link {
  pump: ShapedPump;
  src: Socket;
  dst: Socket;
  stats: { maxDstBuffered: number; maxSrcBuffered: number; bytes: number };
  /** [time, bytes] of every chunk the pump let through. */
  chunks: Array<[number, number]>;
}

/** A relay port whose every connection is pumped to sinkPort through shapedPump with `options()`. */
async function relay(sinkPort: number, options: () => Omit<ShapedPumpOptions, 'onBytes'>, dstBefore?: (dst: Socket) => Promise<void>) {
  const links: Link[] = [];
  const { port } = await listen((src) => {
    src.pause();
    cleanups.push(() => src.destroy());
    const dst = connect(sinkPort, '127.0.0.1');
    cleanups.push(() => dst.destroy());
    const stats = { maxDstBuffered: 0, maxSrcBuffered: 0, bytes: 0 };
    const chunks: Array<[number, number]> = [];
    void once(dst, 'connect').then(async () => {
      await dstBefore?.(dst);
      const pump = shapedPump(src, dst, {
        ...options(),
        onBytes: (n) => {
          stats.bytes += n;
          chunks.push([performance.now(), n]);
          stats.maxDstBuffered = Math.max(stats.maxDstBuffered, dst.writableLength);
          stats.maxSrcBuffered = Math.max(stats.maxSrcBuffered, src.readableLength);
        },
      });
      cleanups.push(() => pump.stop());
      links.push({ pump, src, dst, stats, chunks });
    });
  });
  return { port, links };
}

/** Writes 16 KiB blocks as fast as the socket takes them, waiting for 'drain' whenever write() says no. */
function blast(port: number) {
  const state = { sent: 0, refusals: 0, maxBuffered: 0, stop: false };
  const s = connect(port, '127.0.0.1');
  cleanups.push(() => {
    state.stop = true;
    s.destroy();
  });
  const block = Buffer.alloc(16 * 1024, 0x5a);
  const write = (): void => {
    while (!state.stop && !s.destroyed) {
      state.sent += block.length;
      const more = s.write(block);
      state.maxBuffered = Math.max(state.maxBuffered, s.writableLength);
      if (!more) {
        state.refusals++;
        s.once('drain', write);
        return;
      }
    }
  };
  s.on('error', () => undefined);
  s.once('connect', write);
  return { socket: s, state };
}

const bucket = (rate: number): TokenBucket => new TokenBucket(rate, 16 * 1024);

/**
 * The pump's rate over the chunks it let through in [from, to]: the bytes of all but the
 * last chunk over the time from the first to the last. A chunk is released when the debt
 * of the one before it is repaid, so this is exact where a byte count over a fixed
 * window would be off by up to one 64 KiB chunk.
 */
function rateOf(chunks: ReadonlyArray<[number, number]>, from: number, to: number): number {
  const inside = chunks.filter(([t]) => t >= from && t <= to);
  if (inside.length < 3) throw new Error(`only ${inside.length} chunks between ${from} and ${to}`);
  const bytes = inside.slice(0, -1).reduce((sum, [, n]) => sum + n, 0);
  return (bytes * 1000) / (inside.at(-1)![0] - inside[0]![0]);
}

/** Waits ms and returns the [start, end] of that span on performance.now(). */
async function span(ms: number): Promise<[number, number]> {
  const from = performance.now();
  await sleep(ms);
  return [from, performance.now()];
}

describe('shapedPump over real sockets', () => {
  it('holds a blasting sender to 250 kB/s (±10%) for 3 s', async () => {
    const out = await sink();
    const b = bucket(250_000);
    const { port, links } = await relay(out.port, () => ({ buckets: () => [b] }));
    blast(port);
    await sleep(300);
    const atStart = out.state.received;
    const [from, to] = await span(3_000);
    const rate = rateOf(links[0]!.chunks, from, to);
    expect(rate).toBeGreaterThan(225_000);
    expect(rate).toBeLessThan(275_000);
    // At the far end too: 3 s of rate, give or take the one chunk in flight.
    expect(out.state.received - atStart).toBeGreaterThan(750_000 - 65_536 - 16_384);
    expect(out.state.received - atStart).toBeLessThan(750_000 + 65_536 + 16_384);
  });

  it('two pumps sharing one bucket split it and together keep to it', async () => {
    const out = await sink();
    const shared = bucket(400_000);
    const { port, links } = await relay(out.port, () => ({ buckets: () => [shared] }));
    blast(port);
    blast(port);
    await sleep(300);
    expect(links).toHaveLength(2);
    const [from, to] = await span(2_500);
    const both = [...links[0]!.chunks, ...links[1]!.chunks].sort((x, y) => x[0] - y[0]);
    const total = rateOf(both, from, to);
    expect(total).toBeGreaterThan(360_000);
    expect(total).toBeLessThan(440_000);
    const share = (l: Link): number => l.chunks.filter(([t]) => t >= from && t <= to).reduce((sum, [, n]) => sum + n, 0);
    const [a, c] = [share(links[0]!), share(links[1]!)];
    expect(Math.min(a, c) / (a + c)).toBeGreaterThan(0.4);
  });

  it('applies a rate change, and a removed limit, to an open stream', async () => {
    const out = await sink();
    const b = bucket(200_000);
    let buckets: readonly TokenBucket[] = [b];
    const { port, links } = await relay(out.port, () => ({ buckets: () => buckets }));
    blast(port);
    await sleep(300);
    const slow = rateOf(links[0]!.chunks, ...(await span(1_200)));
    b.setRate(600_000, 60_000);
    await sleep(300);
    const fast = rateOf(links[0]!.chunks, ...(await span(1_200)));
    buckets = [];
    await sleep(MAX_SLEEP_MS);
    const free = rateOf(links[0]!.chunks, ...(await span(500)));
    expect(slow).toBeGreaterThan(180_000);
    expect(slow).toBeLessThan(220_000);
    expect(fast).toBeGreaterThan(540_000);
    expect(fast).toBeLessThan(660_000);
    expect(free).toBeGreaterThan(5 * fast);
  });

  it('pushes back on the sender instead of buffering: it can only send at the shaped rate', async () => {
    const out = await sink();
    const b = bucket(100_000);
    const { port, links } = await relay(out.port, () => ({ buckets: () => [b] }));
    const sender = blast(port);
    await sleep(1_500); // long enough to fill every kernel buffer on the way
    const sentBefore = sender.state.sent;
    await sleep(1_500);
    const senderRate = (sender.state.sent - sentBefore) / 1.5;
    expect(sender.state.refusals).toBeGreaterThan(0);
    expect(senderRate).toBeLessThan(200_000);
    expect(sender.state.maxBuffered).toBeLessThanOrEqual(32 * 1024);
    // What is not delivered sits in kernel socket buffers, never in the pump.
    expect(sender.state.sent - out.state.received).toBeLessThan(32 * 1024 * 1024);
    const { stats } = links[0]!;
    expect(stats.maxDstBuffered).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
    expect(stats.maxSrcBuffered).toBeLessThanOrEqual(64 * 1024);
  });

  it('ends dst when src ends, after every byte', async () => {
    const out = await sink();
    const { port } = await relay(out.port, () => ({ buckets: () => [bucket(2_000_000)] }));
    const s = connect(port, '127.0.0.1');
    cleanups.push(() => s.destroy());
    await once(s, 'connect');
    s.end(Buffer.alloc(300_000, 1));
    for (let i = 0; i < 100 && !out.state.ended; i++) await sleep(20);
    expect(out.state.ended).toBe(true);
    expect(out.state.received).toBe(300_000);
  });
});

/** Timers the test fires by hand, and a clock it moves by hand. */
function manualTime() {
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  const clock = { t: 0 };
  return {
    clock,
    timers,
    setTimer: (fn: () => void, ms: number) => {
      const entry = { fn, ms, cancelled: false };
      timers.push(entry);
      return () => (entry.cancelled = true);
    },
    fireAll(): void {
      for (const e of timers.splice(0)) if (!e.cancelled) e.fn();
    },
  };
}

/** Writes into dst until its sink's kernel buffers are full and dst holds bytes it cannot send. */
async function fillUntilBlocked(dst: Socket): Promise<void> {
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < 256; i++) {
    dst.write(block);
    await sleep(20);
    if (dst.writableLength > 0) return;
  }
  throw new Error('dst never blocked');
}

describe('shapedPump hold reasons', () => {
  async function heldByBoth(rate = 100_000) {
    const time = manualTime();
    const out = await sink({ paused: true });
    const b = new TokenBucket(rate, 1024, () => time.clock.t);
    const { port, links } = await relay(out.port, () => ({ buckets: () => [b], setTimer: time.setTimer }), fillUntilBlocked);
    const sender = blast(port);
    for (let i = 0; i < 200 && (links.length === 0 || links[0]!.stats.bytes === 0); i++) await sleep(10);
    const link = links[0]!;
    expect(link.pump.holding()).toEqual(new Set(['budget', 'drain']));
    return { time, out, link, sender, b };
  }

  it('a drain does not resume a source that is still over budget', async () => {
    const { time, out, link } = await heldByBoth();
    const bytes = link.stats.bytes;
    out.state.socket!.resume();
    for (let i = 0; i < 200 && link.pump.holding().has('drain'); i++) await sleep(10);
    expect(link.pump.holding()).toEqual(new Set(['budget']));
    await sleep(100);
    expect(link.stats.bytes).toBe(bytes);
    expect(link.src.isPaused()).toBe(true);
    time.clock.t += 10_000; // the debt is repaid
    time.fireAll();
    for (let i = 0; i < 100 && link.stats.bytes === bytes; i++) await sleep(10);
    expect(link.stats.bytes).toBeGreaterThan(bytes);
  });

  it('a repaid budget does not resume a source whose destination is still full', async () => {
    const { time, out, link } = await heldByBoth();
    const bytes = link.stats.bytes;
    time.clock.t += 10_000;
    time.fireAll();
    expect(link.pump.holding()).toEqual(new Set(['drain']));
    await sleep(100);
    expect(link.stats.bytes).toBe(bytes);
    expect(link.src.isPaused()).toBe(true);
    out.state.socket!.resume();
    for (let i = 0; i < 200 && link.stats.bytes === bytes; i++) await sleep(10);
    expect(link.stats.bytes).toBeGreaterThan(bytes);
  });

  it('serves sharers in turn: debt another channel took after our chunk does not hold us', async () => {
    const { time, out, link, b } = await heldByBoth();
    out.state.socket!.resume();
    for (let i = 0; i < 200 && link.pump.holding().has('drain'); i++) await sleep(10);
    time.clock.t += 10_000;
    b.take(50_000); // another channel's chunk, queued behind ours
    time.fireAll();
    expect(link.pump.holding()).toEqual(new Set());
  });

  it('re-checks a long debt in slices, so a raised limit frees the channel at once', async () => {
    const { time, out, link, b } = await heldByBoth(1_000); // one chunk = many seconds of debt
    out.state.socket!.resume();
    for (let i = 0; i < 200 && link.pump.holding().has('drain'); i++) await sleep(10);
    expect(time.timers.at(-1)!.ms).toBe(MAX_SLEEP_MS);
    time.clock.t += MAX_SLEEP_MS;
    time.fireAll();
    expect(link.pump.holding()).toEqual(new Set(['budget']));
    b.setRate(100_000_000);
    time.clock.t += MAX_SLEEP_MS;
    time.fireAll();
    expect(link.pump.holding()).toEqual(new Set());
  });

  it('stop() cancels the wake-up and forwards nothing more', async () => {
    const { time, out, link } = await heldByBoth();
    link.pump.stop();
    expect(time.timers.every((t) => t.cancelled)).toBe(true);
    const bytes = link.stats.bytes;
    out.state.socket!.resume();
    await sleep(150);
    expect(link.stats.bytes).toBe(bytes);
    expect(link.pump.holding()).toEqual(new Set(['budget', 'drain']));
  });

  it('starts held when a shared bucket is already in debt', async () => {
    const time = manualTime();
    const out = await sink();
    const b = new TokenBucket(100_000, 1024, () => time.clock.t);
    b.take(21_024); // 200 ms of debt
    const { port, links } = await relay(out.port, () => ({ buckets: () => [b], setTimer: time.setTimer }));
    blast(port);
    for (let i = 0; i < 100 && links.length === 0; i++) await sleep(10);
    await sleep(100);
    expect(links[0]!.stats.bytes).toBe(0);
    expect(time.timers[0]!.ms).toBe(200);
    time.clock.t += 200;
    time.fireAll();
    for (let i = 0; i < 100 && links[0]!.stats.bytes === 0; i++) await sleep(10);
    expect(links[0]!.stats.bytes).toBeGreaterThan(0);
  });
});
