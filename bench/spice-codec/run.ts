/**
 * SPICE channel codec benchmark: throughput of MiniFrameScanner (headers only, zero copy)
 * and MiniFrameDecoder (message by message) over synthetic mini-header streams, against a
 * plain Buffer copy of the same chunks measured in the same run (ratios).
 *
 *   npx tsx --conditions=source bench/spice-codec/run.ts [--mib 64] [--chunk 65536] [--seed 1] [--reps 5]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { MINI_HEADER_SIZE, MiniFrameDecoder, MiniFrameScanner } from '@deskplane/spice-protocol';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '64' },
    chunk: { type: 'string', default: '65536' },
    seed: { type: 'string', default: '1' },
    reps: { type: 'string', default: '5' },
  },
});
const streamBytes = Number(values.mib) * 1024 * 1024;
const chunkSize = Number(values.chunk);
const seed = Number(values.seed);
const reps = Math.max(1, Number(values.reps));

function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Profile {
  name: string;
  what: string;
  /** Body size of the next frame. */
  size: (random: () => number) => number;
}

const PROFILES: Profile[] = [
  { name: 'small', what: 'main-like: 0–512 B bodies', size: (r) => Math.floor(r() * 512) },
  {
    name: 'display mix',
    what: '80 % 0–2 KiB draw/stream messages, 20 % 2–256 KiB images',
    size: (r) => (r() < 0.8 ? Math.floor(r() * 2048) : 2048 + Math.floor(r() * 254 * 1024)),
  },
  { name: 'bulk', what: '1 MiB bodies', size: () => 1024 * 1024 },
];

/** A stream of whole frames, ~streamBytes long, cut into fixed-size chunks (views). */
function makeChunks(profile: Profile): { chunks: Buffer[]; frames: number; bytes: number } {
  const random = rng(seed);
  const sizes: number[] = [];
  let total = 0;
  while (total < streamBytes) {
    const size = profile.size(random);
    sizes.push(size);
    total += MINI_HEADER_SIZE + size;
  }
  const stream = randomFillSync(Buffer.allocUnsafe(total));
  let at = 0;
  for (const size of sizes) {
    stream.writeUInt16LE(302, at);
    stream.writeUInt32LE(size, at + 2);
    at += MINI_HEADER_SIZE + size;
  }
  const chunks: Buffer[] = [];
  for (let i = 0; i < total; i += chunkSize) chunks.push(stream.subarray(i, i + chunkSize));
  return { chunks, frames: sizes.length, bytes: total };
}

interface Measure {
  wallMs: number;
  cpuMs: number;
  /** Frames seen (or bytes copied), to keep the work observable. */
  count: number;
}

function measure(fn: () => number): Measure {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const count = fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, count };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const METHODS: { name: string; run: (chunks: Buffer[]) => number }[] = [
  {
    name: 'Buffer copy (baseline)',
    run: (chunks) => {
      const scratch = Buffer.allocUnsafe(chunkSize);
      let n = 0;
      for (const c of chunks) n += c.copy(scratch);
      return n;
    },
  },
  {
    name: 'MiniFrameScanner',
    run: (chunks) => {
      const scanner = new MiniFrameScanner({ maxMessageSize: 0xffffffff });
      let n = 0;
      for (const c of chunks) n += scanner.scan(c).length;
      scanner.end();
      return n;
    },
  },
  {
    name: 'MiniFrameDecoder',
    run: (chunks) => {
      const decoder = new MiniFrameDecoder({ maxMessageSize: 0xffffffff });
      let n = 0;
      for (const c of chunks) n += decoder.feed(c).length;
      decoder.end();
      return n;
    },
  },
];

const MiB = 1024 * 1024;
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`spice-codec bench: ~${values.mib} MiB per profile in ${fmt(chunkSize)}-byte chunks, seed ${seed}, median of ${reps} runs after 1 warm-up`);
console.log(`node ${process.version}; every run checked: scanner and decoder see every frame`);
console.log('');
console.log('| profile | frames | method | MiB/s | frames/s | CPU-s per GiB | ratio to copy | scanner ÷ decoder |');
console.log('|---|---:|---|---:|---:|---:|---:|---:|');

for (const profile of PROFILES) {
  const { chunks, frames, bytes } = makeChunks(profile);
  const results = METHODS.map((method) => {
    method.run(chunks); // warm-up
    const runs: Measure[] = [];
    for (let i = 0; i < reps; i++) {
      const m = measure(() => method.run(chunks));
      const expected = method.name.startsWith('Buffer') ? bytes : frames;
      if (m.count !== expected) throw new Error(`${method.name} saw ${m.count}, expected ${expected}`);
      runs.push(m);
    }
    const wallMs = median(runs.map((r) => r.wallMs));
    const cpuMs = median(runs.map((r) => r.cpuMs));
    return { name: method.name, mibPerSec: bytes / MiB / (wallMs / 1000), framesPerSec: frames / (wallMs / 1000), cpuPerGiB: cpuMs / 1000 / (bytes / (1024 * MiB)) };
  });
  const copy = results[0]!.mibPerSec;
  const scanner = results[1]!.mibPerSec;
  const decoder = results[2]!.mibPerSec;
  for (const r of results) {
    const vsDecoder = r.name === 'MiniFrameScanner' ? fmt(scanner / decoder, 1) : '';
    console.log(
      `| ${profile.name} | ${fmt(frames)} | ${r.name} | ${fmt(r.mibPerSec)} | ${r.name.startsWith('Buffer') ? '' : fmt(r.framesPerSec)} | ${fmt(r.cpuPerGiB, 3)} | ${fmt(r.mibPerSec / copy, 2)} | ${vsDecoder} |`,
    );
  }
}
console.log('');
console.log(PROFILES.map((p) => `${p.name}: ${p.what}`).join('; '));
