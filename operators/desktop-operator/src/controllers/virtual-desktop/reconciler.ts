/**
 * VirtualDesktop loop: hold the cleanup finalizer; place unplaced desktops (one decision
 * at a time, each seeing the ones before it); hand provisioning to the job queue; follow
 * the run strategy (start / stop jobs); react to the host going NotReady (mark, or evict
 * a non-persistent desktop); on deletion, deprovision and release the finalizer once the
 * job has completed.
 */
import { ConditionType, Finalizers, getCondition, Labels } from '@deskplane/api';
import type { JobQueue } from '@deskplane/queue-contracts';
import type { Informer, ResourceClient } from '@deskplane/resource-store';
import type { DesktopObject, HostObject, MigrationObject, TemplateObject } from '../../resources';
import type { ReconcileResult } from '../../runtime/controller';
import type { SchedulerConfig } from '../../scheduler';
import type { EventSink, ReconcileContext } from '../shared/context';
import { hostCandidate, placedDesktops, placedEntry, templateResources, type Mutex, type PlacementLedger } from '../shared/placement';
import { addFinalizer, ensureLabels, hasFinalizer, patchMetadata, removeFinalizer, writeStatus } from '../shared/status';
import { decideDeletion, decidePlacement, decisionGeneration, type EventIntent } from './decide';
import { decideHostHealth, type HostHealth } from './host-health';
import { deprovisionJob, EVICTIONS_ANNOTATION, evictionsOf, powerJob, provisionJob } from './jobs';
import { decideRunStrategy } from './run-strategy';

export interface VirtualDesktopReconcilerDeps {
  desktops: Informer<DesktopObject>;
  hosts: Informer<HostObject>;
  templates: Informer<TemplateObject>;
  migrations: Informer<MigrationObject>;
  client: ResourceClient<DesktopObject>;
  jobs: JobQueue;
  events: EventSink;
  now: () => Date;
  owns: (host: HostObject) => boolean;
  scheduler: SchedulerConfig;
  ledger: PlacementLedger;
  /** Shared with the migration loop: scheduling decisions run one at a time. */
  schedulingLock: Mutex;
  unschedulableRetryMs: number;
  /** How often a deleting desktop polls its deprovision job. */
  deprovisionPollMs: number;
}

export class VirtualDesktopReconciler {
  constructor(private readonly d: VirtualDesktopReconcilerDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const vd = this.d.desktops.get(key);
    if (!vd) return {};
    if (vd.metadata.deletionTimestamp) return this.finalize(vd, ctx);
    const current = hasFinalizer(vd, Finalizers.DesktopCleanup) ? vd : await addFinalizer(this.d.client, vd, Finalizers.DesktopCleanup);
    if (!current) return {};
    if (current.status?.host) return this.reconcilePlaced(current, ctx);
    return this.d.schedulingLock.run(() => this.place(current, ctx));
  }

  private template(vd: DesktopObject): TemplateObject | undefined {
    return this.d.templates.get(`${vd.metadata.namespace}/${vd.spec.templateRef.name}`);
  }

  private async place(vd: DesktopObject, ctx: ReconcileContext): Promise<ReconcileResult> {
    const template = this.template(vd);
    const templateOf = (ns: string, name: string) => this.d.templates.get(`${ns}/${name}`);
    const placed = this.d.ledger.merge(placedDesktops(this.d.desktops.list(), this.d.migrations.list(), templateOf));
    const hosts = this.d.hosts.list().filter(this.d.owns).map((h) => hostCandidate(h, placed));
    const now = this.d.now();
    const decision = decidePlacement({ desktop: vd, template, hosts, scheduler: this.d.scheduler, now });

    if (decision.kind !== 'scheduled') {
      await writeStatus(this.d.client, vd, decision.patch, now);
      await this.emit(vd, decision.event);
      ctx.log.info({ reason: decision.kind, message: decision.event.message }, 'desktop not placed');
      return { requeueAfterMs: this.d.unschedulableRetryMs };
    }

    const id = vd.metadata.uid ?? key(vd);
    // Count the decision before anyone else decides, even before the status write lands in the cache.
    this.d.ledger.assume(placedEntry(vd, id, decision.host, templateResources(template!)));
    const written = await writeStatus(this.d.client, vd, decision.patch, now).catch((e: unknown) => {
      this.d.ledger.forget(id);
      throw e;
    });
    if (!written) {
      this.d.ledger.forget(id);
      return {};
    }
    await this.emit(vd, decision.event);
    ctx.log.info({ host: decision.host, score: decision.score }, 'desktop scheduled');
    await ensureLabels(this.d.client, vd, { [Labels.Host]: decision.host });
    await this.enqueueProvision(written, template!, decision.host, ctx);
    return {};
  }

  /**
   * A placed desktop, level-triggered: the host's health first (evict or mark), then
   * while Provisioning the provision job must exist, then the run strategy. Every enqueue
   * is idempotent by job id.
   */
  private async reconcilePlaced(vd: DesktopObject, ctx: ReconcileContext): Promise<ReconcileResult> {
    const host = vd.status!.host!;
    const now = this.d.now();
    const health = this.hostHealth(host);
    const h = decideHostHealth(vd, health);
    if (h.kind === 'evict') {
      // The counter first: a re-placement must never reuse this placement's provision job id.
      await patchMetadata(this.d.client, vd, { labels: { [Labels.Host]: null }, annotations: (cur) => ({ [EVICTIONS_ANNOTATION]: String(evictionsOf(cur) + 1) }) });
      const written = await writeStatus(this.d.client, vd, h.patch, now);
      if (written) await this.emit(vd, h.event);
      ctx.log.warn({ host: h.from }, 'host not Ready: non-persistent desktop evicted for rescheduling');
      return {}; // the status write brings the desktop back, unplaced
    }
    if (h.kind !== 'none') {
      await writeStatus(this.d.client, vd, h.patch, now);
      if (h.event) await this.emit(vd, h.event);
    }

    if (vd.status?.phase === 'Provisioning') {
      const template = this.template(vd);
      if (template) await this.enqueueProvision(vd, template, host, ctx);
      else ctx.log.warn({ template: vd.spec.templateRef.name }, 'template gone before provisioning; not re-enqueueing');
    }
    const run = decideRunStrategy(vd, health.ready === 'True');
    if (run.kind !== 'none') {
      const job = powerJob(vd, run.kind, run.host);
      const { created } = await this.d.jobs.enqueue(job);
      if (created) {
        await this.emit(vd, run.event);
        ctx.log.info({ jobId: job.jobId, host }, `${run.kind} job enqueued`);
      }
    }
    if (vd.metadata.generation !== undefined && vd.status?.observedGeneration !== vd.metadata.generation) {
      await writeStatus(this.d.client, vd, { set: { observedGeneration: vd.metadata.generation } }, now);
    }
    await ensureLabels(this.d.client, vd, { [Labels.Host]: host });
    return {};
  }

  private hostHealth(name: string): HostHealth {
    const host = this.d.hosts.get(name);
    if (!host || !this.d.owns(host)) return { name, ready: 'Unknown' };
    const ready = getCondition(host.status?.conditions, ConditionType.Ready);
    return { name, ready: ready?.status ?? 'Unknown', ...(ready?.message ? { message: ready.message } : {}) };
  }

  private async enqueueProvision(vd: DesktopObject, template: TemplateObject, host: string, ctx: ReconcileContext): Promise<void> {
    const job = provisionJob(vd, template, host, decisionGeneration(vd));
    const { created } = await this.d.jobs.enqueue(job);
    if (created) ctx.log.info({ jobId: job.jobId, host }, 'provision job enqueued');
  }

  private async finalize(vd: DesktopObject, ctx: ReconcileContext): Promise<ReconcileResult> {
    if (!hasFinalizer(vd, Finalizers.DesktopCleanup)) return {};
    const job = deprovisionJob(vd);
    const state = vd.status?.host ? await this.d.jobs.state(job.queue, job.jobId) : undefined;
    const decision = decideDeletion(vd, state);
    const now = this.d.now();
    switch (decision.kind) {
      case 'removeFinalizer':
        await removeFinalizer(this.d.client, vd, Finalizers.DesktopCleanup);
        this.d.ledger.forget(vd.metadata.uid ?? key(vd));
        ctx.log.info({ why: decision.why }, 'cleanup finalizer removed');
        return {};
      case 'enqueueDeprovision':
        await writeStatus(this.d.client, vd, decision.patch, now);
        await this.d.jobs.enqueue(job);
        await this.emit(vd, { type: 'Normal', reason: 'Deprovisioning', message: `removing the guest from ${vd.status?.host}` });
        ctx.log.info({ jobId: job.jobId }, 'deprovision job enqueued');
        return { requeueAfterMs: this.d.deprovisionPollMs };
      case 'deprovisionFailed':
        await writeStatus(this.d.client, vd, decision.patch, now);
        await this.emit(vd, decision.event);
        return { requeueAfterMs: this.d.unschedulableRetryMs };
      case 'waitForDeprovision':
        await writeStatus(this.d.client, vd, decision.patch, now);
        return { requeueAfterMs: this.d.deprovisionPollMs };
    }
  }

  private emit(vd: DesktopObject, e: EventIntent): Promise<void> {
    return e.type === 'Normal' ? this.d.events.normal(vd, e.reason, e.message) : this.d.events.warning(vd, e.reason, e.message);
  }
}

const key = (vd: DesktopObject): string => `${vd.metadata.namespace}/${vd.metadata.name}`;
