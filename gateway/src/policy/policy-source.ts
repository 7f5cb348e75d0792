import {
  ConditionType,
  DesktopPolicyKind,
  applyStatusPatch,
  getCondition,
  isFalse,
  type Condition,
  type DesktopPolicy,
  type DesktopPolicyStatus,
} from '@deskplane/api';
import { Informer, retryOnConflict, type KubeObject, type ResourceClient, type ResourceStore } from '@deskplane/resource-store';
import type { GatewayLog } from '../link-server';
import { POLICY_VALID_CONDITION, resolvePolicy, type EffectivePolicy, type PolicySubject } from './effective-policy';

/** Where the gateway gets DesktopPolicies from: a live store, or a fixed list (tests, no store). */
export interface PolicySource {
  /** The policy for a session now (pure lookup in memory; cheap enough for every link). */
  current(who: PolicySubject, preferred?: string): EffectivePolicy;
  /** cb runs after every change that can alter a resolved policy; returns the unsubscribe. */
  onChange(cb: () => void): () => void;
  /** Re-reads every policy from the source, then notifies. */
  reload(): Promise<void>;
  close(): void;
}

/** Listeners that cannot break each other: one that throws is logged and the rest still run. */
class Listeners {
  private readonly set = new Set<() => void>();
  constructor(private readonly log: GatewayLog) {}
  add(cb: () => void): () => void {
    this.set.add(cb);
    return () => this.set.delete(cb);
  }
  notify(): void {
    for (const cb of [...this.set]) {
      try {
        cb();
      } catch (err) {
        this.log('policy.listener-failed', { error: (err as Error).message });
      }
    }
  }
  clear(): void {
    this.set.clear();
  }
}

export class StaticPolicySource implements PolicySource {
  private policies: readonly DesktopPolicy[];
  private readonly listeners: Listeners;

  constructor(policies: readonly DesktopPolicy[] = [], opts: { log?: GatewayLog } = {}) {
    this.policies = [...policies];
    this.listeners = new Listeners(opts.log ?? (() => undefined));
  }

  set(policies: readonly DesktopPolicy[]): void {
    this.policies = [...policies];
    this.listeners.notify();
  }

  current(who: PolicySubject, preferred?: string): EffectivePolicy {
    return resolvePolicy(this.policies, who, preferred);
  }

  onChange(cb: () => void): () => void {
    return this.listeners.add(cb);
  }

  reload(): Promise<void> {
    this.listeners.notify();
    return Promise.resolve();
  }

  close(): void {
    this.listeners.clear();
  }
}

type PolicyObject = DesktopPolicy & KubeObject;

export interface StorePolicySourceOptions {
  /** Watch one namespace only; default all (tenants are namespaces). */
  namespace?: string;
  log?: GatewayLog;
  now?: () => Date;
  /** Informer resync period; default none (the watch is enough). */
  resyncMs?: number;
}

/** Ready on a DesktopPolicy: this generation is applied by the gateway. */
export const POLICY_APPLIED = 'Applied';
export const POLICY_NOT_APPLIED = 'NotApplied';

/** What of a policy can change a resolved policy: spec, deletion, the operator's verdict. */
const fingerprint = (p: DesktopPolicy): string =>
  JSON.stringify([p.spec, p.metadata.deletionTimestamp ?? null, getCondition(p.status?.conditions, POLICY_VALID_CONDITION)?.status ?? null]);

/**
 * DesktopPolicies from a ResourceStore (Kubernetes or embedded), kept current by an
 * Informer. Every change that can alter a resolved policy notifies the listeners; status
 * writes of its own (and anyone's) do not. Each loaded generation gets the condition
 * Ready=True, reason Applied (or Ready=False, NotApplied, when the operator marked it
 * Valid=False — the gateway ignores those), with observedGeneration; writes go through
 * the status subresource with retryOnConflict and are skipped when nothing would change,
 * so several gateway replicas agree without churn.
 */
export class StorePolicySource implements PolicySource {
  private informer?: Informer<PolicyObject>;
  private readonly byTenant = new Map<string, Map<string, PolicyObject>>();
  private readonly listeners: Listeners;
  private readonly pending = new Set<string>();
  private writer: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly client: ResourceClient<PolicyObject>,
    private readonly opts: StorePolicySourceOptions,
    private readonly log: GatewayLog,
  ) {
    this.listeners = new Listeners(log);
  }

  /** Lists and watches; resolves once the first list is loaded (then current() is right). */
  static async start(store: ResourceStore, opts: StorePolicySourceOptions = {}): Promise<StorePolicySource> {
    const source = new StorePolicySource(store.client<PolicyObject>(DesktopPolicyKind.info), opts, opts.log ?? (() => undefined));
    await source.reload();
    return source;
  }

  current(who: PolicySubject, preferred?: string): EffectivePolicy {
    return resolvePolicy([...(this.byTenant.get(who.tenant)?.values() ?? [])], who, preferred);
  }

  onChange(cb: () => void): () => void {
    return this.listeners.add(cb);
  }

  /** A fresh informer (list + watch) replaces the running one; then one notification. */
  async reload(): Promise<void> {
    if (this.closed) throw new Error('policy source is closed');
    const next = new Informer(this.client, {
      ...(this.opts.namespace !== undefined ? { namespace: this.opts.namespace } : {}),
      ...(this.opts.resyncMs ? { resyncMs: this.opts.resyncMs } : {}),
      onError: (err) => this.log('policy.watch-error', { error: err.message }),
    });
    // Events of an informer not yet (or no longer) adopted are dropped: its list is read whole on adoption.
    next.on({
      add: (p) => next === this.informer && this.put(p, true),
      update: (old, p) => next === this.informer && this.put(p, fingerprint(old) !== fingerprint(p)),
      delete: (p) => next === this.informer && this.remove(p),
    });
    try {
      await next.start();
    } catch (err) {
      next.stop();
      throw err;
    }
    if (this.closed) {
      next.stop();
      return;
    }
    this.informer?.stop();
    this.informer = next;
    this.byTenant.clear();
    for (const p of next.list()) this.put(p, false);
    this.log('policy.loaded', { policies: next.list().length });
    this.listeners.notify();
  }

  /** Resolves when every status write queued so far is done (tests, shutdown). */
  async flush(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.writer) {
      seen = this.writer;
      await seen;
    }
  }

  close(): void {
    this.closed = true;
    this.informer?.stop();
    this.listeners.clear();
    this.pending.clear();
  }

  private put(p: PolicyObject, notify: boolean): void {
    const ns = p.metadata.namespace ?? '';
    let tenant = this.byTenant.get(ns);
    if (!tenant) this.byTenant.set(ns, (tenant = new Map<string, PolicyObject>()));
    tenant.set(p.metadata.name, p);
    this.queueStatus(p);
    if (notify) this.listeners.notify();
  }

  private remove(p: PolicyObject): void {
    const ns = p.metadata.namespace ?? '';
    const tenant = this.byTenant.get(ns);
    tenant?.delete(p.metadata.name);
    if (tenant?.size === 0) this.byTenant.delete(ns);
    this.listeners.notify();
  }

  private queueStatus(p: PolicyObject): void {
    if (p.metadata.deletionTimestamp || !needsReady(p)) return;
    const key = `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.writer = this.writer.then(async () => {
      this.pending.delete(key);
      if (this.closed) return;
      try {
        await this.writeReady(p.metadata.name, p.metadata.namespace);
      } catch (err) {
        // Not retried here: the next change or reload of the policy queues it again.
        this.log('policy.status-failed', { policy: key, error: (err as Error).message });
      }
    });
  }

  private async writeReady(name: string, namespace: string | undefined): Promise<void> {
    const now = (this.opts.now ?? (() => new Date()))();
    await retryOnConflict(
      this.client,
      name,
      namespace,
      (current) => {
        if (current.metadata.deletionTimestamp || !needsReady(current)) return undefined;
        const status = applyStatusPatch<DesktopPolicyStatus>(current.status, { conditions: [readyFor(current)] }, now);
        return { ...current, status };
      },
      { status: true },
    );
  }
}

function readyFor(p: DesktopPolicy): Omit<Condition, 'lastTransitionTime'> {
  const gen = p.metadata.generation !== undefined ? { observedGeneration: p.metadata.generation } : {};
  return isFalse(p.status?.conditions, POLICY_VALID_CONDITION)
    ? { type: ConditionType.Ready, status: 'False', reason: POLICY_NOT_APPLIED, message: 'Valid is False: the gateway ignores this policy.', ...gen }
    : { type: ConditionType.Ready, status: 'True', reason: POLICY_APPLIED, message: 'Applied by the gateway to new and open sessions.', ...gen };
}

function needsReady(p: DesktopPolicy): boolean {
  const want = readyFor(p);
  const have = getCondition(p.status?.conditions, ConditionType.Ready);
  return !have || have.status !== want.status || have.reason !== want.reason || have.message !== want.message || have.observedGeneration !== want.observedGeneration;
}
