import { createHash, randomFillSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  LinkError,
  MINI_HEADER_SIZE,
  MiniFrameDecoder,
  MiniFrameScanner,
  SpiceChannelError,
  encodeMiniFrame,
  encodeMiniHeader,
  type FrameBoundary,
  type MiniFrame,
} from './index';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Small seeded PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Outcome = { frames: { type: number; payload: string }[]; boundaries: FrameBoundary[]; error?: { code: string; linkError: number } };

/** Feeds the pieces to a decoder and a scanner side by side, then ends both streams. */
function run(pieces: Buffer[], maxMessageSize?: number): Outcome {
  const decoder = new MiniFrameDecoder({ maxMessageSize });
  const scanner = new MiniFrameScanner({ maxMessageSize });
  const frames: MiniFrame[] = [];
  const boundaries: FrameBoundary[] = [];
  const pack = (error?: SpiceChannelError): Outcome => ({
    frames: frames.map((f) => ({ type: f.type, payload: f.payload.toString('hex') })),
    boundaries,
    ...(error ? { error: { code: error.code, linkError: error.linkError } } : {}),
  });
  try {
    for (const piece of pieces) {
      frames.push(...decoder.feed(piece));
      boundaries.push(...scanner.scan(piece));
    }
    decoder.end();
    scanner.end();
    return pack();
  } catch (err) {
    if (!(err instanceof SpiceChannelError)) throw err;
    return pack(err);
  }
}

/** The outcome must not depend on how TCP cut the bytes: whole, split at each byte, one by one. */
function expectSameAtEverySplit(bytes: Buffer, maxMessageSize?: number): Outcome {
  const whole = run([bytes], maxMessageSize);
  // Frames seen before an error may differ with the split; the error itself may not.
  const comparable = (o: Outcome) => (o.error ? { error: o.error } : o);
  for (let at = 0; at <= bytes.length; at++) {
    expect(comparable(run([bytes.subarray(0, at), bytes.subarray(at)], maxMessageSize)), `split at ${at}`).toEqual(comparable(whole));
  }
  for (let a = 0; a <= Math.min(bytes.length, 16); a++) {
    const b = Math.min(bytes.length, a + MINI_HEADER_SIZE - 1);
    const pieces = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
    expect(comparable(run(pieces, maxMessageSize)), `three pieces at ${a}/${b}`).toEqual(comparable(whole));
  }
  const oneByOne = [...bytes].map((x) => Buffer.from([x]));
  expect(comparable(run(oneByOne, maxMessageSize)), 'byte by byte').toEqual(comparable(whole));
  return whole;
}

describe('mini header encoding', () => {
  it('writes type u16 and size u32, little-endian', () => {
    expect(encodeMiniHeader(103, 32)).toEqual(hex('6700 20000000'));
    expect(encodeMiniHeader(0xffff, 0xffffffff)).toEqual(hex('ffff ffffffff'));
    expect(encodeMiniFrame(116, hex('0102'))).toEqual(hex('7400 02000000 0102'));
    expect(encodeMiniFrame(117)).toEqual(hex('7500 00000000'));
  });

  it.each([
    [-1, 0],
    [0x10000, 0],
    [1.5, 0],
    [1, -1],
    [1, 0x100000000],
  ])('refuses type %s / size %s', (type, size) => {
    expect(() => encodeMiniHeader(type, size)).toThrow(expect.objectContaining({ code: 'SPICE_BAD_ARGUMENT', linkError: LinkError.ERROR }));
  });
});

describe('MiniFrameDecoder and MiniFrameScanner: the same frames at every split', () => {
  const frames = [
    { type: 103, payload: Buffer.alloc(32, 1) },
    { type: 4, payload: Buffer.alloc(0) },
    { type: 104, payload: hex('02000000 0100 0200') },
    { type: 0xffff, payload: Buffer.from('x') },
    { type: 116, payload: Buffer.alloc(300, 0x5a) },
    { type: 117, payload: Buffer.alloc(0) },
  ];
  const stream = Buffer.concat(frames.map((f) => encodeMiniFrame(f.type, f.payload)));

  it('a stream of six frames', () => {
    const out = expectSameAtEverySplit(stream);
    expect(out.error).toBeUndefined();
    expect(out.frames).toEqual(frames.map((f) => ({ type: f.type, payload: f.payload.toString('hex') })));
    let offset = 0;
    const expected = frames.map((f) => {
      const b = { type: f.type, size: f.payload.length, offset };
      offset += MINI_HEADER_SIZE + f.payload.length;
      return b;
    });
    expect(out.boundaries).toEqual(expected);
  });

  it('an empty stream, and a single empty frame', () => {
    expect(expectSameAtEverySplit(Buffer.alloc(0))).toEqual({ frames: [], boundaries: [] });
    expect(expectSameAtEverySplit(hex('6600 00000000')).frames).toEqual([{ type: 0x66, payload: '' }]);
  });

  it('a stream cut inside a body or a header ends with SPICE_TRUNCATED', () => {
    for (const cut of [1, 5, MINI_HEADER_SIZE + 10, stream.length - 1]) {
      const out = expectSameAtEverySplit(stream.subarray(0, cut));
      expect(out.error, `cut at ${cut}`).toEqual({ code: 'SPICE_TRUNCATED', linkError: LinkError.INVALID_DATA });
    }
  });

  it('a frame over the limit fails the same way wherever the stream is cut', () => {
    const over = Buffer.concat([encodeMiniFrame(1, Buffer.alloc(10)), encodeMiniFrame(2, Buffer.alloc(65))]);
    const out = expectSameAtEverySplit(over, 64);
    expect(out.error).toEqual({ code: 'SPICE_MESSAGE_TOO_LARGE', linkError: LinkError.INVALID_DATA });
    // Exactly at the limit is fine.
    expect(expectSameAtEverySplit(encodeMiniFrame(2, Buffer.alloc(64)), 64).error).toBeUndefined();
  });
});

describe('MiniFrameDecoder', () => {
  afterEach(() => vi.restoreAllMocks());

  it('rejects a header claiming 4 GiB as soon as the header is in, allocating nothing', () => {
    const decoder = new MiniFrameDecoder(); // its 6-byte header scratch is allocated here
    const spies = [
      vi.spyOn(Buffer, 'alloc'),
      vi.spyOn(Buffer, 'allocUnsafe'),
      vi.spyOn(Buffer, 'allocUnsafeSlow'),
      vi.spyOn(Buffer, 'concat'),
    ];
    const header = hex('0100 ffffffff');
    expect(decoder.feed(header.subarray(0, 3))).toEqual([]);
    let thrown: unknown;
    try {
      decoder.feed(header.subarray(3));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SpiceChannelError);
    expect(thrown).toMatchObject({ code: 'SPICE_MESSAGE_TOO_LARGE', linkError: LinkError.INVALID_DATA, retryable: false });
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.currentState).toBe('failed');
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    // Sticky: the same error again, whatever comes next.
    expect(() => decoder.feed(Buffer.alloc(1))).toThrow(thrown);
    expect(() => decoder.end()).toThrow(thrown);
  });

  it('checks the default limit (1 MiB) in one chunk too, before reading the body', () => {
    const decoder = new MiniFrameDecoder();
    expect(decoder.maxMessageSize).toBe(DEFAULT_MAX_MESSAGE_SIZE);
    expect(() => decoder.feed(encodeMiniHeader(4, DEFAULT_MAX_MESSAGE_SIZE + 1))).toThrow(
      expect.objectContaining({ code: 'SPICE_MESSAGE_TOO_LARGE' }),
    );
  });

  it('returns views for frames inside one chunk and assembles split frames once', () => {
    const chunk = Buffer.concat([encodeMiniFrame(1, hex('aabbcc')), encodeMiniFrame(2, hex('ddeeff'))]);
    const decoder = new MiniFrameDecoder();
    const [a, b] = decoder.feed(chunk);
    expect(a!.payload.buffer).toBe(chunk.buffer);
    expect(b!.payload).toEqual(hex('ddeeff'));

    const split = encodeMiniFrame(3, Buffer.alloc(100, 7));
    expect(decoder.feed(split.subarray(0, 50))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(50 - MINI_HEADER_SIZE);
    expect(decoder.currentState).toBe('body');
    const [c] = decoder.feed(split.subarray(50));
    expect(c).toEqual({ type: 3, payload: Buffer.alloc(100, 7) });
    expect(decoder.bufferedBytes).toBe(0);
  });

  it.each([-1, 1.5, 0x100000000])('refuses maxMessageSize %s', (max) => {
    expect(() => new MiniFrameDecoder({ maxMessageSize: max })).toThrow(expect.objectContaining({ code: 'SPICE_BAD_ARGUMENT' }));
  });

  it('decodes a 4 MiB stream in random chunks into exactly the frames written', () => {
    const random = rng(7);
    const frames: MiniFrame[] = [];
    let total = 0;
    while (total < 4 * 1024 * 1024) {
      const size = random() < 0.9 ? Math.floor(random() * 600) : Math.floor(random() * 200_000);
      const payload = randomFillSync(Buffer.allocUnsafe(size));
      frames.push({ type: Math.floor(random() * 0x10000), payload });
      total += MINI_HEADER_SIZE + size;
    }
    const stream = Buffer.concat(frames.map((f) => encodeMiniFrame(f.type, f.payload)));
    const decoder = new MiniFrameDecoder();
    const got: MiniFrame[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = random() < 0.2 ? 1 + Math.floor(random() * 7) : 1 + Math.floor(random() * 100_000);
      got.push(...decoder.feed(stream.subarray(at, at + n)));
      at += n;
    }
    decoder.end();
    expect(got.length).toBe(frames.length);
    got.forEach((f, i) => {
      expect(f.type).toBe(frames[i]!.type);
      expect(f.payload.equals(frames[i]!.payload), `frame ${i}`).toBe(true);
    });
  });
});

describe('MiniFrameScanner', () => {
  it('reports exactly the frame boundaries of a 64 MiB stream in random chunks, leaving the bytes untouched', () => {
    const random = rng(42);
    const sizes: number[] = [];
    const types: number[] = [];
    let total = 0;
    while (total < 64 * 1024 * 1024) {
      // Mostly small messages, some display-sized ones.
      const size = random() < 0.95 ? Math.floor(random() * 1024) : Math.floor(random() * 64 * 1024);
      sizes.push(size);
      types.push(Math.floor(random() * 0x10000));
      total += MINI_HEADER_SIZE + size;
    }
    // Bodies are random bytes: the scanner must never mistake body bytes for a header.
    const stream = randomFillSync(Buffer.allocUnsafe(total));
    const expected: FrameBoundary[] = [];
    let offset = 0;
    sizes.forEach((size, i) => {
      stream.writeUInt16LE(types[i]!, offset);
      stream.writeUInt32LE(size, offset + 2);
      expected.push({ type: types[i]!, size, offset });
      offset += MINI_HEADER_SIZE + size;
    });
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const before = digest(stream);

    const scanner = new MiniFrameScanner();
    const got: FrameBoundary[] = [];
    for (let at = 0; at < stream.length; ) {
      const r = random();
      // Tiny chunks split headers; big ones span many frames or sit inside one body.
      const n = r < 0.1 ? 1 + Math.floor(random() * 7) : r < 0.6 ? 1 + Math.floor(random() * 4096) : 1 + Math.floor(random() * 256 * 1024);
      got.push(...scanner.scan(stream.subarray(at, at + n)));
      at += n;
    }
    scanner.end();
    expect(expected.length).toBeGreaterThan(20_000);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
    expect(scanner.position).toBe(stream.length);
    expect(digest(stream)).toBe(before);
  });

  it('rejects a header over its limit (default 256 MiB) with a sticky error', () => {
    const scanner = new MiniFrameScanner();
    expect(scanner.scan(encodeMiniFrame(1, hex('00')))).toEqual([{ type: 1, size: 1, offset: 0 }]);
    const bad = encodeMiniHeader(2, 0xffffffff);
    let thrown: unknown;
    try {
      scanner.scan(bad);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'SPICE_MESSAGE_TOO_LARGE', linkError: LinkError.INVALID_DATA });
    expect(scanner.currentState).toBe('failed');
    expect(() => scanner.scan(Buffer.alloc(0))).toThrow(thrown);
  });

  it('reports a frame when its header completes, before its body arrives', () => {
    const scanner = new MiniFrameScanner();
    const frame = encodeMiniFrame(302, Buffer.alloc(1000));
    expect(scanner.scan(frame.subarray(0, 4))).toEqual([]);
    expect(scanner.scan(frame.subarray(4, 10))).toEqual([{ type: 302, size: 1000, offset: 0 }]);
    expect(scanner.currentState).toBe('body');
    expect(scanner.scan(frame.subarray(10))).toEqual([]);
    expect(scanner.currentState).toBe('header');
    expect(() => scanner.end()).not.toThrow();
  });
});
