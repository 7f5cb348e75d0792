import { ChannelType } from '@deskplane/spice-protocol';
import type { GatewayLog } from './link-server';
import { UNRESTRICTED, sessionDeadline, type BucketBook, type EffectivePolicy, type PolicySource, type SessionShaper, type TokenBucket } from './policy';
import type { SessionRegistry } from './sessions';

export interface Who {
  tenant: string;
  user: string;
  groups: readonly string[];
}

interface Applied {
  who: Who;
  preferred?: string;
  policy: EffectivePolicy;
  shaper: SessionShaper;
}

const NONE: readonly TokenBucket[] = [];

/**
 * The DesktopPolicy in force for every live session: its buckets, its timers, and what
 * happens when a policy changes (new rates apply to the next chunk, a channel type that is
 * now denied is closed, timers are re-evaluated). The link server asks it at link time;
 * the splice asks it for buckets per chunk.
 */
export class SessionPolicies {
  private readonly applied = new Map<string, Applied>();
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(
    private readonly deps: {
      source?: PolicySource;
      book: BucketBook;
      registry: SessionRegistry;
      log: GatewayLog;
      now?: () => number;
      /** How often idle and session-time limits are checked. Default 1 s. */
      checkEveryMs?: number;
    },
  ) {}

  start(): void {
    this.unsubscribe = this.deps.source?.onChange(() => this.reapply());
    this.timer = setInterval(() => this.enforceDeadlines(), this.deps.checkEveryMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  resolve(who: Who, preferred?: string): EffectivePolicy {
    return this.deps.source?.current(who, preferred) ?? UNRESTRICTED;
  }

  add(sessionKey: string, who: Who, preferred: string | undefined, policy: EffectivePolicy): void {
    const shaper = this.deps.book.forSession({ key: sessionKey, tenant: who.tenant, user: who.user }, policy);
    this.applied.set(sessionKey, { who, preferred, policy, shaper });
  }

  policyOf(sessionKey: string): EffectivePolicy {
    return this.applied.get(sessionKey)?.policy ?? UNRESTRICTED;
  }

  buckets(sessionKey: string, channelType: number, direction: 'toClient' | 'toGuest'): readonly TokenBucket[] {
    return this.applied.get(sessionKey)?.shaper.buckets(channelType, direction) ?? NONE;
  }

  release(sessionKey: string): void {
    this.applied.get(sessionKey)?.shaper.release();
    this.applied.delete(sessionKey);
  }

  private reapply(): void {
    for (const [key, a] of this.applied) {
      const next = this.resolve(a.who, a.preferred);
      a.policy = next;
      a.shaper.setPolicy(next);
      this.deps.registry.update(key, { policy: next.name });
      const info = this.deps.registry.get(key);
      for (const ch of info?.channels ?? []) {
        if (ch.channelType !== ChannelType.MAIN && next.deniedChannels.has(ch.channelType)) {
          this.deps.log('policy.channel-closed', { session: key, channelType: ch.channelType, policy: next.name });
          this.deps.registry.closeChannel(key, ch.id, 'channel denied by policy');
        }
      }
    }
    this.enforceDeadlines();
  }

  private enforceDeadlines(): void {
    const now = (this.deps.now ?? Date.now)();
    for (const [key, a] of this.applied) {
      const info = this.deps.registry.get(key);
      if (!info) continue;
      const due = sessionDeadline(info, a.policy, now);
      if (due && due.at <= now) {
        this.deps.log('policy.session-ended', { session: key, reason: due.reason, policy: a.policy.name });
        this.deps.registry.kill(key, due.reason);
      }
    }
  }
}
