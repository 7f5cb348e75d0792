/**
 * Link state machine fuzz: drives handleClient over in-memory stream pairs with real deps
 * (ticket store, RSA key, failure limiter, caps book, session registry and router) and
 * inputs random and mutated from valid handshakes, some carrying a correctly encrypted,
 * valid ticket for an unreachable guest (127.0.0.1:1).
 *
 *   npx tsx --conditions=source gateway/scripts/fuzz-link.ts --count 1000000 --seed 1
 *
 * A test tool kept in src/ so that its unit test and the type check cover it.
 *
 * Checks: no uncaught exception or unhandled rejection; every stream is closed by the
 * gateway (refused, or cut at the handshake timeout); heap after GC does not grow with N.
 */
import { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  AuthMechanism,
  ChannelType,
  CommonCap,
  capsToWords,
  encodeAuthMechanism,
  encodeLinkMessage,
  encryptTicket,
  generateTicketKeyPair,
} from '@deskplane/spice-protocol';
import { CapsBook } from './caps-book';
import { handleClient, type LinkServerDeps } from './link-server';
import { BucketBook } from './policy';
import { FailureLimiter } from './rate-limit';
import { SessionPolicies } from './session-policy';
import { SessionRouter } from './session-router';
import { SessionRegistry } from './sessions';
import { MemoryTicketStore } from './tickets';

/** Seeded PRNG (same mixing as the codec fuzz's): a failure names its seed and iteration. */
class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  u32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

const EDGE_U32 = [0, 1, 2, 4, 17, 18, 0x7f, 0xff, 0xffff, 4096, 4097, 0x7fffffff, 0x80000000, 0xffffffff];

/** 1–3 stacked mutations aimed at length fields, boundaries and framing. */
function mutate(rng: Prng, input: Buffer): Buffer {
  let out = Buffer.from(input);
  for (let r = 1 + rng.below(3); r > 0; r--) {
    const at = rng.below(Math.max(1, out.length));
    switch (rng.below(6)) {
      case 0:
        if (out.length > 0) out[at] = out[at]! ^ (1 << rng.below(8));
        break;
      case 1:
        if (out.length >= 4) out.writeUInt32LE(rng.pick(EDGE_U32), Math.min(at, out.length - 4) & ~(rng.chance(0.7) ? 3 : 0));
        break;
      case 2:
        out = out.subarray(0, rng.below(out.length + 1));
        break;
      case 3:
        out = Buffer.concat([out, rng.bytes(1 + rng.below(64))]);
        break;
      case 4:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + rng.below(8))]);
        break;
      default:
        if (out.length > 0) out[at] = rng.below(256);
    }
  }
  return out;
}

export interface LinkFuzzOptions {
  count: number;
  seed: number;
  /** Streams in flight at once. Default 256. */
  concurrency?: number;
  /** The gateway's handshake budget per stream. Default 100 ms (stalled inputs wait this long). */
  handshakeTimeoutMs?: number;
  onProgress?: (done: number, heapMiB: number) => void;
}

export interface LinkFuzzResult {
  count: number;
  seconds: number;
  inputsPerSecond: number;
  /** Heap after GC at quiet points: after 1 000 warm-up inputs, at the half, at the end; and the most seen in flight (bytes). */
  heap: { start: number; half: number; end: number; max: number };
  /** How streams ended, by the gateway's log reason. */
  outcomes: Record<string, number>;
  failures: string[];
}

/** Two connected in-memory streams: what one writes the other reads; destroying one closes both. */
function streamPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (peer: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        if (!peer().destroyed) peer().destroy();
        cb(err);
      },
    });
  sides.push(make(() => sides[1]!), make(() => sides[0]!));
  return [sides[0]!, sides[1]!];
}

export function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const CLIENT_COMMON = capsToWords([CommonCap.AUTH_SELECTION, CommonCap.AUTH_SPICE, CommonCap.MINI_HEADER]);

export async function runLinkFuzz(opts: LinkFuzzOptions): Promise<LinkFuzzResult> {
  const timeoutMs = opts.handshakeTimeoutMs ?? 100;
  const concurrency = opts.concurrency ?? 256;
  const outcomes: Record<string, number> = {};
  const failures: string[] = [];
  const log = (event: string, fields: Record<string, unknown>): void => {
    if (event !== 'link.refused' && event !== 'link.closed') return;
    const why = String(fields.why).replace(/\d+/g, 'N').slice(0, 60);
    outcomes[`${event} ${why}`] = (outcomes[`${event} ${why}`] ?? 0) + 1;
  };
  const tickets = new MemoryTicketStore();
  const keyPair = await generateTicketKeyPair();
  const sessions = new SessionRegistry();
  const router = new SessionRouter({ tickets, log });
  const deps: LinkServerDeps = {
    tickets, keyPair, log, sessions, router,
    caps: new CapsBook(),
    limiter: new FailureLimiter({ maxFailures: 5, maxKeys: 1_000 }),
    handshakeTimeoutMs: timeoutMs,
    policies: new SessionPolicies({ book: new BucketBook(), registry: sessions, log }),
    displays: new Map(),
  };
  // A few valid tickets for an unreachable guest, encrypted once to the gateway's key (RSA is the slow part).
  const valid: Buffer[] = [];
  for (let i = 0; i < 8; i++) {
    const { ticket } = await tickets.mint({ user: `u${i}`, tenant: 't', desktop: 'ns/vd', upstream: { host: '127.0.0.1', port: 1, password: 'x' }, ttlMs: 3_600_000 });
    valid.push(encryptTicket(ticket, keyPair.publicKeyDer));
  }
  const handshake = (rng: Prng): Buffer => {
    const selection = rng.chance(0.8);
    const link = encodeLinkMessage({
      connectionId: rng.chance(0.7) ? 0 : rng.u32(),
      channelType: rng.chance(0.7) ? ChannelType.MAIN : rng.below(12),
      channelId: 0,
      commonCaps: selection ? CLIENT_COMMON : [0x8],
      channelCaps: rng.chance(0.5) ? [] : [rng.u32()],
    });
    const ticket = rng.chance(0.5) ? rng.pick(valid) : rng.bytes(128);
    return Buffer.concat([link, ...(selection ? [encodeAuthMechanism(rng.chance(0.95) ? AuthMechanism.SPICE : rng.u32())] : []), ticket]);
  };

  const fatal = (what: string) => (err: unknown): void => void failures.push(`${what}: ${String(err)}`);
  const onException = fatal('uncaught exception');
  const onRejection = fatal('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);

  const one = (seed: number, i: number): Promise<void> => {
    const rng = new Prng((Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(i, 0x9e3779b9)) >>> 0);
    const roll = rng.u32() / 0x100000000;
    const base = handshake(rng);
    const input = roll < 0.15 ? base : roll < 0.9 ? mutate(rng, base) : rng.bytes(rng.below(400));
    const [ours, theirs] = streamPair();
    ours.on('data', () => undefined);
    ours.on('error', () => undefined);
    handleClient(theirs, deps, { source: `10.0.${rng.below(8)}.${rng.below(256)}`, transport: 'fuzz' });
    return new Promise<void>((resolve) => {
      // The refusal grace (1 s) plus the budget bound how long the gateway may hold a stream.
      const limit = setTimeout(() => {
        failures.push(`seed ${seed} iteration ${i}: stream still open after ${timeoutMs + 1_500} ms; input ${input.toString('hex')}`);
        ours.destroy();
      }, timeoutMs + 1_500);
      theirs.once('close', () => {
        clearTimeout(limit);
        resolve();
      });
      let at = 0;
      const pieces = 1 + rng.below(4);
      for (let p = 1; p <= pieces; p++) {
        const to = p === pieces ? input.length : Math.min(input.length, at + rng.below(input.length - at + 1));
        ours.write(input.subarray(at, to));
        at = to;
      }
      const after = rng.below(4);
      if (after === 0) ours.end();
      else if (after === 1) setImmediate(() => ours.destroy());
    });
  };

  const started = performance.now();
  // Heap is compared between quiet points (nothing in flight, refusal graces lapsed): after
  // a warm-up, after half the inputs and at the end. Growth from half to end = growth with N.
  const quiesce = async (): Promise<number> => {
    await new Promise((r) => setTimeout(r, 1_100));
    return heapAfterGc();
  };
  let next = 0;
  let done = 0;
  let maxHeap = 0;
  const runUntil = async (stop: number): Promise<void> => {
    const worker = async (): Promise<void> => {
      while (next < stop && failures.length === 0) {
        await one(opts.seed, next++);
        done++;
        if (done % 1_000 === 0) maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
        if (opts.onProgress && done % 100_000 === 0) opts.onProgress(done, process.memoryUsage().heapUsed / 1048576);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await runUntil(Math.min(opts.count, 1_000));
  const heap = { start: await quiesce(), half: 0, end: 0, max: 0 };
  await runUntil(Math.max(next, Math.floor(opts.count / 2)));
  heap.half = await quiesce();
  await runUntil(opts.count);
  heap.end = await quiesce();
  heap.max = maxHeap;
  process.removeListener('uncaughtException', onException);
  process.removeListener('unhandledRejection', onRejection);
  const seconds = (performance.now() - started) / 1000;
  return { count: done, seconds, inputsPerSecond: Math.round(done / seconds), heap, outcomes, failures };
}
