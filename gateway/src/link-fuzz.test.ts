import { describe, expect, it } from 'vitest';
import { runLinkFuzz } from './link-fuzz';

describe('link state machine fuzz (small N; the script runs the long one)', () => {
  it('3 000 random and mutated handshakes: no uncaught error, every stream closed by the gateway, heap flat', async () => {
    const r = await runLinkFuzz({ count: 3_000, seed: Number(process.env.FUZZ_SEED ?? 0xc0ffee), concurrency: 128, handshakeTimeoutMs: 100 });
    expect(r.failures).toEqual([]);
    expect(r.count).toBe(3_000);
    const ended = Object.values(r.outcomes).reduce((a, b) => a + b, 0);
    expect(ended).toBe(3_000); // each stream ended exactly once, with a logged reason
    // The paths that matter were all reached: codec refusals, bad and good tickets, the timeout, the limiter.
    const reasons = Object.keys(r.outcomes).join('\n');
    for (const why of ['SPICE_BAD_MAGIC', 'SPICE_BAD_CAPS', 'unknown or expired ticket', 'upstream:', 'handshake timeout', 'too many failed tickets']) {
      expect(reasons).toContain(why);
    }
    expect(r.heap.end - r.heap.half).toBeLessThan(4 * 1024 * 1024);
  }, 60_000);
});
