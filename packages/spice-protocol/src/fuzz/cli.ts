/**
 * The long codec fuzz run: `npx tsx --conditions=source packages/spice-protocol/src/fuzz/cli.ts --count 1000000 --seed 1`.
 * Prints inputs/s and the heap after GC before and after; exits 1 with the replayable
 * seed, iteration and input on the first failure.
 */
import { FuzzFailure, fuzzCodec, heapAfterGc } from './harness';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const count = arg('count', 1_000_000);
const seed = arg('seed', Date.now() >>> 0);
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const before = heapAfterGc();
try {
  const stats = fuzzCodec({ count, seed, onProgress: (n) => process.stderr.write(`  ${n} / ${count}\n`) });
  const after = heapAfterGc();
  console.log(JSON.stringify({ seed, count, seconds: +(stats.ms / 1000).toFixed(1), inputsPerSecond: Math.round(count / (stats.ms / 1000)), heapBefore: mb(before), heapAfter: mb(after), perTarget: stats.perTarget }, null, 1));
} catch (err) {
  if (!(err instanceof FuzzFailure)) throw err;
  console.error(err.message);
  process.exitCode = 1;
}
