/**
 * Link state machine fuzz, the long run (the engine and its checks: src/link-fuzz.ts):
 *
 *   npx tsx --conditions=source gateway/scripts/fuzz-link.ts --count 1000000 --seed 1 [--concurrency 256]
 *
 * Prints inputs/s, heap after GC at quiet points and how streams ended; exits 1 on a failure.
 */
import { runLinkFuzz } from '../src/link-fuzz';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
void runLinkFuzz({
  count: arg('count', 100_000),
  seed: arg('seed', Date.now() >>> 0),
  concurrency: arg('concurrency', 256),
  onProgress: (n, heapMiB) => process.stderr.write(`  ${n} done, heap ${heapMiB.toFixed(1)} MiB\n`),
}).then((r) => {
  const heap = { start: mb(r.heap.start), half: mb(r.heap.half), end: mb(r.heap.end), maxInFlight: mb(r.heap.max) };
  console.log(JSON.stringify({ ...r, seconds: +r.seconds.toFixed(1), heap, failures: r.failures.slice(0, 5) }, null, 1));
  process.exitCode = r.failures.length === 0 ? 0 : 1;
});
