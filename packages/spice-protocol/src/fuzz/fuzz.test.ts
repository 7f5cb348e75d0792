import { describe, expect, it } from 'vitest';
import { ClientLinkDecoder, encodeLinkMessage } from '../index';
import * as gen from './generators';
import { FuzzFailure, fuzzCodec, fuzzOne, heapAfterGc } from './harness';
import { mutate, randomSplits } from './mutators';
import { Prng } from './prng';

/** CI-sized: ~1.5–4 s here. `npx tsx --conditions=source packages/spice-protocol/src/fuzz/cli.ts --count 1000000` for the long run. */
const COUNT = 60_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

describe('codec fuzz', () => {
  it(`${COUNT} random and mutated inputs over every decoder: only the codec's own errors, bounded memory`, () => {
    fuzzCodec({ count: 2_000, seed: SEED + 1 }); // warm-up: JIT code and lazy key generation are not growth
    const before = heapAfterGc();
    const stats = fuzzCodec({ count: COUNT, seed: SEED });
    const after = heapAfterGc();
    expect(stats.count).toBe(COUNT);
    // Every decoder was reached, the rare RSA one included.
    expect(Object.keys(stats.perTarget).sort()).toEqual([
      'ClientLinkDecoder', 'MiniFrameDecoder', 'MiniFrameScanner', 'ServerLinkDecoder', 'decodeChannelsList',
      'decodeDisplayInit', 'decodeLinkMessage', 'decodeLinkReply', 'decodeLinkResult', 'decodeMainClientMessage',
      'decodeMainInit', 'decodeMigrateBegin', 'decodeMigrateBeginSeamless', 'decodeMigrateDstDoSeamless',
      'decodeMigrateSwitchHost', 'decryptTicket',
    ]);
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
  }, 30_000);

  it('replays one iteration on its own: same target, same bytes', () => {
    const a = fuzzOne(SEED, 12_345);
    const b = fuzzOne(SEED, 12_345);
    expect(b).toEqual(a);
    expect(fuzzOne(SEED, 12_346).input).not.toEqual(a.input);
  });
});

describe('fuzz building blocks', () => {
  it('the PRNG is deterministic per seed and covers its range', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const xs = Array.from({ length: 1_000 }, () => a.below(10));
    expect(Array.from({ length: 1_000 }, () => b.below(10))).toEqual(xs);
    expect(new Set(xs).size).toBe(10);
    expect(new Prng(8).u32()).not.toBe(new Prng(7).u32());
  });

  it('random splits always reassemble to the input', () => {
    const rng = new Prng(3);
    for (let i = 0; i < 500; i++) {
      const input = rng.bytes(rng.below(200));
      expect(Buffer.concat(randomSplits(rng, input))).toEqual(input);
    }
  });

  it('mutations change valid link messages, and the decoder refuses many of them with SpiceLinkError only', () => {
    const rng = new Prng(11);
    let changed = 0;
    let refused = 0;
    for (let i = 0; i < 2_000; i++) {
      const valid = gen.linkMessage(rng);
      const bad = mutate(rng, valid);
      if (!bad.equals(valid)) changed++;
      try {
        new ClientLinkDecoder().feed(bad);
      } catch (err) {
        expect((err as Error).name).toBe('SpiceLinkError');
        refused++;
      }
    }
    expect(changed).toBeGreaterThan(1_900);
    expect(refused).toBeGreaterThan(500);
  });

  it('unmutated generated link messages decode to what was encoded', () => {
    const rng = new Prng(5);
    for (let i = 0; i < 200; i++) {
      const bytes = gen.linkMessage(rng);
      const [msg] = new ClientLinkDecoder().feed(bytes);
      expect(msg?.kind).toBe('linkMessage');
      if (msg?.kind === 'linkMessage') expect(encodeLinkMessage(msg)).toEqual(bytes);
    }
  });

  it('FuzzFailure carries the seed, iteration and input so a report can be replayed', () => {
    const err = new FuzzFailure('X', 42, 7, Buffer.from([1, 2, 0xff]), new RangeError('boom'));
    expect(err.message).toContain('seed 42 iteration 7');
    expect(err.message).toContain('0102ff');
    expect(err.message).toContain('RangeError: boom');
  });
});
