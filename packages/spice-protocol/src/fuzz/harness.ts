import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClientLinkDecoder, ServerLinkDecoder, decodeLinkMessage, decodeLinkReply, decodeLinkResult } from '../decode';
import { decodeDisplayInit } from '../display-messages';
import { SpiceChannelError, SpiceLinkError } from '../errors';
import * as main from '../main-messages';
import { MiniFrameDecoder, MiniFrameScanner, type MiniFrame } from '../mini-header';
import type { StagedDecoder } from '../staged-decoder';
import { decryptTicket } from '../ticket';
import * as gen from './generators';
import { mutate, randomSplits } from './mutators';
import { Prng } from './prng';

/** One decoder under fuzz: builds its input from the iteration's PRNG, runs, returns a comparable outcome. */
interface Target {
  name: string;
  weight: number;
  input(rng: Prng): Buffer;
  run(rng: Prng, input: Buffer): void;
}

/**
 * Thrown when a decoder does something other than decode or throw the codec's own errors:
 * a RangeError/TypeError, a broken invariant (buffering past its bound, an outcome that
 * depends on how the bytes were split). Carries everything needed to replay it.
 */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
  constructor(
    readonly target: string,
    readonly seed: number,
    readonly iteration: number,
    readonly input: Buffer,
    override readonly cause: unknown,
  ) {
    super(`${target} failed at seed ${seed} iteration ${iteration}: ${String(cause)}\n  input (${input.length} B): ${input.toString('hex')}`);
  }
}

const isCodecError = (err: unknown): err is SpiceLinkError | SpiceChannelError =>
  err instanceof SpiceLinkError || err instanceof SpiceChannelError;

class InvariantError extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new InvariantError(what);
}

/** A JSON-ish fingerprint of decoded values (Buffers as hex) to compare two runs. */
function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v,
  );
}

/** Feeds pieces, ends, and fingerprints what came out (messages, remainder, or the error code). */
function runStaged<M>(make: () => StagedDecoder<string, M>, pieces: Buffer[], maxBody: number): string {
  const decoder = make();
  const out: M[] = [];
  try {
    for (const piece of pieces) {
      if (decoder.isDone) break;
      out.push(...decoder.feed(piece));
      check(decoder.bytesWanted <= Math.max(maxBody, 128), `${decoder.bytesWanted} bytes wanted, over the body bound`);
    }
    if (decoder.isDone) return fingerprint({ out, rest: decoder.takeRemainder().length });
    decoder.end();
    return 'unreachable';
  } catch (err) {
    if (!isCodecError(err)) throw err;
    return `error ${err.code}`;
  }
}

/** Link decoders: the outcome must not depend on the TCP split (the error code, or everything decoded). */
function stagedTarget<M>(name: string, input: (rng: Prng) => Buffer, make: (rng: Prng) => () => StagedDecoder<string, M>): Target {
  return {
    name,
    weight: 6,
    input,
    run(rng, bytes) {
      const factory = make(rng);
      const maxBody = 4096;
      const whole = runStaged(factory, [bytes], maxBody);
      const split = runStaged(factory, randomSplits(rng, bytes), maxBody);
      const key = (o: string): string => (o.startsWith('error') ? o : o.replace(/"rest":\d+/, ''));
      check(key(whole) === key(split), `split outcome ${split} differs from whole ${whole}`);
    },
  };
}

function runFrames(decoder: MiniFrameDecoder, pieces: Buffer[]): string {
  const frames: MiniFrame[] = [];
  try {
    for (const piece of pieces) {
      frames.push(...decoder.feed(piece));
      check(decoder.bufferedBytes <= decoder.maxMessageSize + 6, `holds ${decoder.bufferedBytes} bytes, limit ${decoder.maxMessageSize}`);
    }
    decoder.end();
  } catch (err) {
    if (!isCodecError(err)) throw err;
    return `error ${err.code}`;
  }
  for (const f of frames) {
    try {
      main.decodeMainServerMessage(f);
    } catch (err) {
      if (!isCodecError(err) || err.code !== 'SPICE_INVALID_DATA') throw err;
    }
  }
  return frames.map((f) => `${f.type}:${f.payload.toString('hex')}`).join(',');
}

let ticketKey: KeyObject | undefined;

const TARGETS: readonly Target[] = [
  stagedTarget('ClientLinkDecoder', gen.clientLinkStream, (rng) => {
    const expect = rng.pick([undefined, true, false]);
    return () => new ClientLinkDecoder({ expectAuthMechanism: expect });
  }),
  stagedTarget('ServerLinkDecoder', gen.serverLinkStream, () => () => new ServerLinkDecoder()),
  {
    name: 'MiniFrameDecoder',
    weight: 6,
    input: gen.miniFrameStream,
    run(rng, bytes) {
      const max = rng.pick([64, 256, 1024 * 1024]);
      const whole = runFrames(new MiniFrameDecoder({ maxMessageSize: max }), [bytes]);
      const split = runFrames(new MiniFrameDecoder({ maxMessageSize: max }), randomSplits(rng, bytes));
      check(whole === split, `split outcome differs: ${split} vs ${whole}`);
    },
  },
  {
    name: 'MiniFrameScanner',
    weight: 3,
    input: gen.miniFrameStream,
    run(rng, bytes) {
      const scanner = new MiniFrameScanner({ maxMessageSize: rng.pick([64, 1024 * 1024]) });
      try {
        for (const piece of randomSplits(rng, bytes)) {
          for (const b of scanner.scan(piece)) check(b.offset + 6 <= scanner.position, `frame offset ${b.offset} past the stream`);
        }
        scanner.end();
      } catch (err) {
        if (!isCodecError(err)) throw err;
      }
    },
  },
  ...[
    ['decodeLinkMessage', gen.linkMessage, (b: Buffer) => decodeLinkMessage(b)],
    ['decodeLinkReply', gen.serverLinkStream, (b: Buffer) => decodeLinkReply(b)],
    ['decodeLinkResult', (r: Prng) => r.bytes(r.below(6)), (b: Buffer) => decodeLinkResult(b)],
    ['decodeMainInit', (r: Prng) => main.encodeMainInit(gen.mainInit(r)), main.decodeMainInit],
    ['decodeChannelsList', (r: Prng) => gen.mainBody(r, 104), main.decodeChannelsList],
    ['decodeMigrateBegin', (r: Prng) => gen.mainBody(r, 101), main.decodeMigrateBegin],
    ['decodeMigrateSwitchHost', (r: Prng) => gen.mainBody(r, 111), main.decodeMigrateSwitchHost],
    ['decodeMigrateBeginSeamless', (r: Prng) => gen.mainBody(r, 116), main.decodeMigrateBeginSeamless],
    ['decodeMigrateDstDoSeamless', (r: Prng) => gen.mainBody(r, 110), main.decodeMigrateDstDoSeamless],
    ['decodeMainClientMessage', gen.miniFrameStream, (b: Buffer) => main.decodeMainClientMessage({ type: b.length > 1 ? b.readUInt16LE(0) : 0, payload: b.subarray(6) })],
    ['decodeDisplayInit', gen.displayInitBody, decodeDisplayInit],
  ].map(
    ([name, input, decode]): Target => ({
      name: name as string,
      weight: 2,
      input: input as (rng: Prng) => Buffer,
      run: (_rng, bytes) => void (decode as (b: Buffer) => unknown)(bytes),
    }),
  ),
  {
    name: 'decryptTicket',
    weight: 0.02,
    input: (rng) => rng.bytes(128),
    run(_rng, bytes) {
      ticketKey ??= generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
      decryptTicket(bytes, ticketKey);
    },
  },
];

const TOTAL_WEIGHT = TARGETS.reduce((sum, t) => sum + t.weight, 0);

function pickTarget(rng: Prng): Target {
  let x = (rng.u32() / 0x100000000) * TOTAL_WEIGHT;
  for (const t of TARGETS) {
    x -= t.weight;
    if (x < 0) return t;
  }
  return TARGETS[TARGETS.length - 1]!;
}

/** Iteration `i` of seed `seed`, on its own: what a failure report lets you replay. */
export function fuzzOne(seed: number, i: number): { target: string; input: Buffer } {
  const rng = new Prng(seed).fork(i);
  const target = pickTarget(rng);
  const roll = rng.u32() / 0x100000000;
  // Mostly mutated valid inputs; some untouched (the happy path must stay happy), some pure noise.
  const valid = target.input(rng);
  const input = roll < 0.1 ? valid : roll < 0.95 ? mutate(rng, valid) : rng.bytes(rng.below(300));
  try {
    target.run(rng, input);
  } catch (err) {
    if (!isCodecError(err) || err.code === 'SPICE_BAD_ARGUMENT') throw new FuzzFailure(target.name, seed, i, input, err);
  }
  return { target: target.name, input };
}

export interface FuzzStats {
  count: number;
  ms: number;
  perTarget: Record<string, number>;
}

/** Runs `count` iterations; throws FuzzFailure on the first misbehaviour. */
export function fuzzCodec(opts: { count: number; seed: number; onProgress?: (done: number) => void }): FuzzStats {
  const started = performance.now();
  const perTarget: Record<string, number> = {};
  for (let i = 0; i < opts.count; i++) {
    const { target } = fuzzOne(opts.seed, i);
    perTarget[target] = (perTarget[target] ?? 0) + 1;
    if (opts.onProgress && (i + 1) % 100_000 === 0) opts.onProgress(i + 1);
  }
  return { count: opts.count, ms: performance.now() - started, perTarget };
}

/** Heap in use after a full GC (exposes gc at runtime, so no --expose-gc flag is needed). */
export function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
