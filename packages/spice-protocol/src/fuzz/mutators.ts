import type { Prng } from './prng';

/**
 * Mutations that aim where a length-prefixed binary parser breaks: boundary values in
 * 32-bit fields (counts, sizes, offsets), truncation, extension, shuffled regions.
 */

/** u32 values that sit on arithmetic edges; `len` adds values relative to the input's size. */
function interestingU32(rng: Prng, len: number): number {
  return rng.pick([0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe,
    0xffffffff, 0x40000000, 0x3fffffff, len, len + 1, len - 1, len * 4, (len >>> 2) + 1, 4096, 4097]) >>> 0;
}

export type Mutator = (rng: Prng, input: Buffer) => Buffer;

const flipBit: Mutator = (rng, input) => {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  const at = rng.below(out.length);
  out[at] = out[at]! ^ (1 << rng.below(8));
  return out;
};

const setByte: Mutator = (rng, input) => {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  out[rng.below(out.length)] = rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.below(256)]);
  return out;
};

/** Overwrites an aligned or unaligned u32 with an edge value: the main way to hit counts and offsets. */
const setU32: Mutator = (rng, input) => {
  if (input.length < 4) return input;
  const out = Buffer.from(input);
  const aligned = rng.chance(0.7);
  const at = aligned ? 4 * rng.below(Math.floor(out.length / 4)) : rng.below(out.length - 3);
  out.writeUInt32LE(interestingU32(rng, input.length), at);
  return out;
};

const setU16: Mutator = (rng, input) => {
  if (input.length < 2) return input;
  const out = Buffer.from(input);
  out.writeUInt16LE(rng.pick([0, 1, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, rng.below(0x10000)]), rng.below(out.length - 1));
  return out;
};

const truncate: Mutator = (rng, input) => input.subarray(0, rng.below(input.length + 1));

const extend: Mutator = (rng, input) => Buffer.concat([input, rng.bytes(rng.between(1, 64))]);

const removeRange: Mutator = (rng, input) => {
  if (input.length === 0) return input;
  const at = rng.below(input.length);
  const n = rng.between(1, Math.min(16, input.length - at));
  return Buffer.concat([input.subarray(0, at), input.subarray(at + n)]);
};

const duplicateRange: Mutator = (rng, input) => {
  if (input.length === 0) return input;
  const at = rng.below(input.length);
  const n = rng.between(1, Math.min(32, input.length - at));
  const to = rng.below(input.length + 1);
  return Buffer.concat([input.subarray(0, to), input.subarray(at, at + n), input.subarray(to)]);
};

const randomRange: Mutator = (rng, input) => {
  if (input.length === 0) return rng.bytes(rng.between(1, 32));
  const out = Buffer.from(input);
  const at = rng.below(out.length);
  rng.bytes(Math.min(rng.between(1, 16), out.length - at)).copy(out, at);
  return out;
};

export const MUTATORS: readonly Mutator[] = [flipBit, setByte, setU32, setU32, setU16, truncate, extend, removeRange, duplicateRange, randomRange];

/** 1–4 stacked mutations. */
export function mutate(rng: Prng, input: Buffer): Buffer {
  let out = input;
  const rounds = rng.between(1, 4);
  for (let i = 0; i < rounds; i++) out = rng.pick(MUTATORS)(rng, out);
  return out;
}

/** Cuts `input` into 1..maxPieces pieces at random points (what TCP might deliver). */
export function randomSplits(rng: Prng, input: Buffer, maxPieces = 8): Buffer[] {
  if (input.length === 0) return [input];
  if (rng.chance(0.1)) return [...input].map((b) => Buffer.from([b]));
  const n = rng.between(1, maxPieces);
  const cuts = Array.from({ length: n - 1 }, () => rng.below(input.length + 1)).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    pieces.push(input.subarray(from, cut));
    from = cut;
  }
  return pieces;
}
