import { AlreadyExistsError, ConflictError } from './errors';
import type { Lease, LeaseClient } from './types';

export interface LeaderElectionOptions {
  name: string;
  namespace: string;
  /** Unique per candidate: pod name, or host + pid. */
  identity: string;
  /** How long a lease holds without renewal. Takeover after a crash takes up to this plus retryPeriodMs. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long steps down (before others may take over). */
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  now?: () => number;
}

/**
 * Lease-based leader election as client-go does it: expiry is judged on OUR clock from
 * when we last saw the lease change, never by comparing another process's timestamps,
 * so clock skew between replicas cannot make two leaders.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private observed?: { resourceVersion?: string; holder?: string; at: number };
  private lastRenew = 0;
  private readonly now: () => number;

  constructor(
    private readonly leases: LeaseClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Steps down and releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const l = await this.leases.get(this.opts.name, this.opts.namespace);
      if (l?.holderIdentity === this.opts.identity) {
        await this.leases.update({ ...l, holderIdentity: '', leaseDurationSeconds: 1 });
      }
    } catch {
      /* it expires by itself */
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch {
      ok = false;
    }
    if (this.stopped) return;
    if (ok) {
      this.lastRenew = this.now();
      this.setLeading(true);
    } else if (this.leading && this.now() - this.lastRenew > (this.opts.renewDeadlineMs ?? 7_000)) {
      this.setLeading(false);
    }
    this.timer = setTimeout(() => void this.tick(), this.opts.retryPeriodMs ?? 2_000);
    this.timer.unref();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.opts;
    const durationS = Math.ceil((this.opts.leaseDurationMs ?? 10_000) / 1000);
    const nowIso = new Date(this.now()).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const current = await this.leases.get(name, namespace);
    if (!current) {
      try {
        await this.leases.create({ name, namespace, holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: nowIso, renewTime: nowIso, leaseTransitions: 0 });
        return true;
      } catch (e) {
        if (e instanceof AlreadyExistsError) return false;
        throw e;
      }
    }
    this.observe(current);
    const mine = current.holderIdentity === identity;
    const held = !!current.holderIdentity && this.now() < this.observed!.at + current.leaseDurationSeconds * 1000;
    if (!mine && held) return false;
    const next: Lease = mine
      ? { ...current, renewTime: nowIso, leaseDurationSeconds: durationS }
      : { ...current, holderIdentity: identity, acquireTime: nowIso, renewTime: nowIso, leaseDurationSeconds: durationS, leaseTransitions: current.leaseTransitions + 1 };
    try {
      this.observe(await this.leases.update(next));
      return true;
    } catch (e) {
      if (e instanceof ConflictError) return false;
      throw e;
    }
  }

  /** Remembers when we saw the lease change, by our own clock. */
  private observe(l: Lease): void {
    if (this.observed?.resourceVersion !== l.resourceVersion) {
      this.observed = { resourceVersion: l.resourceVersion, holder: l.holderIdentity, at: this.now() };
    }
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    if (v) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }
}
