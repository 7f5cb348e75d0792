import type { EffectivePolicy } from './effective-policy';
import { TokenBucket } from './token-bucket';

/** toClient: guest → client bytes; toGuest: client → guest. Every limit applies to each separately. */
export type Direction = 'toClient' | 'toGuest';

export interface SessionShaper {
  /**
   * The buckets a chunk of this channel type and direction is charged to, tightest scope
   * first: this session's channel type, this session, this user, this tenant — each only
   * when limited. A fresh array; ask again per chunk (policies change).
   */
  buckets(channelType: number, direction: Direction): TokenBucket[];
  /** Rates change in place (debt kept), new limits appear, removed ones vanish. */
  setPolicy(p: EffectivePolicy): void;
  /** The session ended: drops its share of the user and tenant buckets. Idempotent. */
  release(): void;
}

/** Burst: 100 ms of the rate, and never less than 16 KiB (one small read passes unshaped). */
export const burstFor = (bytesPerSec: number): number => Math.max(bytesPerSec / 10, 16 * 1024);

type Pair = Record<Direction, TokenBucket>;

const NO_BUCKETS: TokenBucket[] = [];

function pair(rate: number, now: () => number): Pair {
  return { toClient: new TokenBucket(rate, burstFor(rate), now), toGuest: new TokenBucket(rate, burstFor(rate), now) };
}

function retune(p: Pair, rate: number): void {
  if (p.toClient.rateBytesPerSec === rate) return;
  p.toClient.setRate(rate, burstFor(rate));
  p.toGuest.setRate(rate, burstFor(rate));
}

/** A bucket pair several sessions share; each holder states the rate its policy wants. */
interface Shared {
  buckets: Pair;
  holders: Map<string, number>;
}

/**
 * Token buckets keyed by scope, so every session of one user (and every session of one
 * tenant) draws from one pair. A shared pair runs at the lowest rate its holders' policies
 * ask for — two sessions of one user under different policies get the stricter limit,
 * never the sum — and disappears with its last holder.
 */
export class BucketBook {
  private readonly shared = new Map<string, Shared>();
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** Shared pairs alive (user and tenant scopes): for metrics and tests. */
  get sharedScopes(): number {
    return this.shared.size;
  }

  forSession(s: { key: string; tenant: string; user: string }, policy: EffectivePolicy): SessionShaper {
    const userScope = `user\u0000${s.tenant}\u0000${s.user}`;
    const tenantScope = `tenant\u0000${s.tenant}`;
    const perChannel = new Map<number, Pair>();
    let session: Pair | undefined;
    let user: Pair | undefined;
    let tenant: Pair | undefined;
    let released = false;

    const apply = (p: EffectivePolicy): void => {
      for (const [type, buckets] of perChannel) {
        const rate = p.channelBytesPerSec.get(type);
        if (rate === undefined) perChannel.delete(type);
        else retune(buckets, rate);
      }
      for (const [type, rate] of p.channelBytesPerSec) if (!perChannel.has(type)) perChannel.set(type, pair(rate, this.now));
      const total = p.sessionBytesPerSec;
      if (total === undefined) session = undefined;
      else if (session) retune(session, total);
      else session = pair(total, this.now);
      user = this.hold(userScope, s.key, p.userBytesPerSec);
      tenant = this.hold(tenantScope, s.key, p.tenantBytesPerSec);
    };
    apply(policy);

    return {
      buckets: (channelType: number, direction: Direction): TokenBucket[] => {
        // Asked once per chunk: an unlimited session (the common case) allocates nothing.
        const channel = perChannel.get(channelType);
        if (!channel && !session && !user && !tenant) return NO_BUCKETS;
        const out: TokenBucket[] = [];
        for (const p of [channel, session, user, tenant]) if (p) out.push(p[direction]);
        return out;
      },
      setPolicy: (p: EffectivePolicy): void => {
        if (!released) apply(p);
      },
      release: (): void => {
        if (released) return;
        released = true;
        perChannel.clear();
        session = user = tenant = undefined;
        this.hold(userScope, s.key, undefined);
        this.hold(tenantScope, s.key, undefined);
      },
    };
  }

  /** Joins, re-rates or (rate undefined) leaves a shared scope; returns its pair while held. */
  private hold(scope: string, holder: string, rate: number | undefined): Pair | undefined {
    let entry = this.shared.get(scope);
    if (rate === undefined) {
      if (entry?.holders.delete(holder)) {
        if (entry.holders.size === 0) this.shared.delete(scope);
        else retune(entry.buckets, Math.min(...entry.holders.values()));
      }
      return undefined;
    }
    if (!entry) this.shared.set(scope, (entry = { buckets: pair(rate, this.now), holders: new Map() }));
    entry.holders.set(holder, rate);
    retune(entry.buckets, Math.min(...entry.holders.values()));
    return entry.buckets;
  }
}
