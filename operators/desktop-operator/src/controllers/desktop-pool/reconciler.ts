/**
 * DesktopPool loop: hold the cleanup finalizer; read the pool's desktops and the
 * namespace's usage from the store (not the cache: a create the cache has not seen yet
 * must never be made twice); decide (decide.ts); apply deletes, run-strategy flips and
 * creates; write status and Events. On deletion: remove the unclaimed desktops, leave the
 * claimed ones, release the finalizer.
 *
 * Every write that takes a desktop away from the pool's unclaimed set races with a claim
 * (the API's optimistic update of spec.owner). They are made safe by resourceVersion:
 * scale-in first marks the desktop with the recycle annotation (which claims skip) in an
 * update that fails if a claim landed first, and a flip re-reads and skips a claimed one.
 */
import { Annotations, API_VERSION, Finalizers, Labels, TenantKind, type Tenant } from '@deskplane/api';
import { AlreadyExistsError, retryOnConflict, type Informer, type KubeObject, type ResourceClient } from '@deskplane/resource-store';
import { randomBytes } from 'node:crypto';
import type { DesktopObject, PoolObject, TemplateObject } from '../../resources';
import type { ReconcileResult } from '../../runtime/controller';
import type { EventSink, ReconcileContext } from '../shared/context';
import { Mutex } from '../shared/placement';
import { addFinalizer, hasFinalizer, removeFinalizer, writeStatus } from '../shared/status';
import type { EventIntent } from '../virtual-desktop/decide';
import { decideCleanup, decidePool, isDeleting, isRecycled, PoolEvent, poolOf, type PoolCounts, type RunStrategyTarget } from './decide';
import { sizeOf, usageOf } from './quota';

export type TenantObject = Tenant & KubeObject;
export const TENANT_TYPE = TenantKind.info;

/** Where the per-pool gauges go (metrics.ts); absent in tests that do not look. */
export interface PoolGauges {
  setPool(namespace: string, pool: string, counts: PoolCounts): void;
  forgetPool(namespace: string, pool: string): void;
}

export interface DesktopPoolReconcilerDeps {
  pools: Informer<PoolObject>;
  templates: Informer<TemplateObject>;
  client: ResourceClient<PoolObject>;
  desktopClient: ResourceClient<DesktopObject>;
  tenantClient: ResourceClient<TenantObject>;
  events: EventSink;
  now: () => Date;
  gauges?: PoolGauges;
  /** Look again this often while the quota or a missing template stops creates (neither wakes the pool). */
  blockedRetryMs: number;
  /** The 5-character suffix of a new desktop's name; random unless a test fixes it. */
  suffix?: () => string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
function randomSuffix(): string {
  return [...randomBytes(5)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

/** `<pool>-<suffix>`, the pool part cut so that the name fits a desktop's 63 characters. */
export function desktopName(pool: string, suffix: string): string {
  return `${pool.slice(0, 63 - suffix.length - 1).replace(/[-.]+$/, '')}-${suffix}`;
}

export class DesktopPoolReconciler {
  /** Pools of one namespace share its quota: their create decisions run one at a time. */
  private readonly locks = new Map<string, Mutex>();

  constructor(private readonly d: DesktopPoolReconcilerDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const cached = this.d.pools.get(key);
    const [namespace, name] = key.split('/') as [string, string];
    if (!cached) {
      this.d.gauges?.forgetPool(namespace, name);
      return {};
    }
    let lock = this.locks.get(namespace);
    if (!lock) this.locks.set(namespace, (lock = new Mutex()));
    return lock.run(() => this.reconcilePool(cached, ctx));
  }

  private async reconcilePool(cached: PoolObject, ctx: ReconcileContext): Promise<ReconcileResult> {
    const ns = cached.metadata.namespace!;
    const name = cached.metadata.name;
    const all = (await this.d.desktopClient.list({ namespace: ns })).items;
    const members = all.filter((d) => poolOf(d) === name);
    if (cached.metadata.deletionTimestamp) return this.cleanup(cached, members, ctx);
    const pool = hasFinalizer(cached, Finalizers.PoolCleanup) ? cached : await addFinalizer(this.d.client, cached, Finalizers.PoolCleanup);
    if (!pool) return {};

    const sizeOfTemplate = (t: string) => {
      const tpl = this.d.templates.get(`${ns}/${t}`);
      return tpl ? sizeOf(tpl) : undefined;
    };
    const tenant = await this.d.tenantClient.get(ns);
    const now = this.d.now();
    const template = sizeOfTemplate(pool.spec.templateRef.name);
    const decision = decidePool({
      pool,
      desktops: members,
      ...(template ? { template } : {}),
      ...(tenant?.spec.quota ? { quota: tenant.spec.quota } : {}),
      usage: usageOf(all, sizeOfTemplate),
      sizeOfTemplate,
      now,
    });

    for (const del of decision.deletes) {
      if (del.why === 'recycle') await this.d.desktopClient.delete(del.name, ns);
      else if (!(await this.markAndDelete(del.name, ns, 'scale-in'))) ctx.log.info({ desktop: del.name }, 'claimed while scaling in: kept');
    }
    for (const f of decision.flips) await this.flip(f.name, ns, f.to);
    const createdNames: Array<{ name: string; runStrategy: RunStrategyTarget }> = [];
    for (const runStrategy of decision.creates) createdNames.push({ name: await this.create(pool, runStrategy), runStrategy });

    await writeStatus(this.d.client, pool, decision.patch, now);
    for (const e of decision.events) await this.emit(pool, e);
    for (const c of createdNames) {
      await this.emit(pool, { type: 'Normal', reason: PoolEvent.DesktopCreated, message: `created ${c.name} (${c.runStrategy === 'Always' ? 'warm' : 'cold: defined, not started'})` });
    }
    this.d.gauges?.setPool(ns, name, decision.counts);
    if (decision.deletes.length || decision.flips.length || createdNames.length || decision.block) {
      ctx.log.info(
        { warm: decision.warm.warm, deletes: decision.deletes.map((x) => `${x.name}:${x.detail}`), flips: decision.flips.map((f) => `${f.name}→${f.to}`), created: createdNames.map((c) => c.name), block: decision.block?.message },
        'pool reconciled',
      );
    }
    const waits = [decision.requeueAfterMs, decision.block ? this.d.blockedRetryMs : undefined].filter((x): x is number => x !== undefined);
    return waits.length ? { requeueAfterMs: Math.min(...waits) } : {};
  }

  /**
   * Marks an unclaimed desktop for recycling, then deletes it. Returns false (nothing
   * deleted) when it was claimed first: the mark is an optimistic update, so a claim and
   * the mark never both succeed.
   */
  private async markAndDelete(name: string, ns: string, reason: string): Promise<boolean> {
    let mine = false;
    await retryOnConflict(this.d.desktopClient, name, ns, (cur) => {
      mine = false;
      if (isDeleting(cur)) return undefined;
      if (isRecycled(cur)) {
        mine = true;
        return undefined;
      }
      if (cur.spec.owner) return undefined;
      mine = true;
      return { ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, [Annotations.Recycle]: reason } } };
    });
    if (mine) await this.d.desktopClient.delete(name, ns);
    return mine;
  }

  private async flip(name: string, ns: string, to: RunStrategyTarget): Promise<void> {
    await retryOnConflict(this.d.desktopClient, name, ns, (cur) => {
      if (cur.spec.owner || isDeleting(cur) || isRecycled(cur) || (cur.spec.runStrategy ?? 'Always') === to) return undefined;
      return { ...cur, spec: { ...cur.spec, runStrategy: to } };
    });
  }

  private async create(pool: PoolObject, runStrategy: RunStrategyTarget): Promise<string> {
    const suffix = this.d.suffix ?? randomSuffix;
    for (let attempt = 1; ; attempt++) {
      const name = desktopName(pool.metadata.name, suffix());
      const desktop: DesktopObject = {
        apiVersion: API_VERSION,
        kind: 'VirtualDesktop',
        metadata: { name, namespace: pool.metadata.namespace!, labels: { [Labels.Pool]: pool.metadata.name } },
        spec: {
          templateRef: { name: pool.spec.templateRef.name },
          poolRef: { name: pool.metadata.name },
          persistent: (pool.spec.assignment ?? 'Dedicated') === 'Dedicated',
          runStrategy,
        },
      };
      try {
        await this.d.desktopClient.create(desktop);
        return name;
      } catch (e) {
        if (!(e instanceof AlreadyExistsError) || attempt >= 5) throw e;
      }
    }
  }

  private async cleanup(pool: PoolObject, members: DesktopObject[], ctx: ReconcileContext): Promise<ReconcileResult> {
    const ns = pool.metadata.namespace!;
    if (!hasFinalizer(pool, Finalizers.PoolCleanup)) return {};
    const plan = decideCleanup(members);
    const kept = [...plan.kept];
    for (const name of plan.deletes) {
      const recycled = members.find((m) => m.metadata.name === name && isRecycled(m));
      if (recycled) await this.d.desktopClient.delete(name, ns);
      else if (!(await this.markAndDelete(name, ns, 'pool-deleted'))) kept.push(name);
    }
    if (kept.length) {
      await this.emit(pool, { type: 'Normal', reason: 'ClaimedDesktopsKept', message: `pool deleted: ${kept.length} claimed desktop(s) stay with their users: ${kept.join(', ')}` });
    }
    await removeFinalizer(this.d.client, pool, Finalizers.PoolCleanup);
    this.d.gauges?.forgetPool(ns, pool.metadata.name);
    ctx.log.info({ deleted: plan.deletes.length, kept }, 'pool deleted: unclaimed desktops removed, finalizer released');
    return {};
  }

  private emit(pool: PoolObject, e: EventIntent): Promise<void> {
    return e.type === 'Normal' ? this.d.events.normal(pool, e.reason, e.message) : this.d.events.warning(pool, e.reason, e.message);
  }
}
