/**
 * DesktopMigration loop: hold the abort finalizer, validate the request, pick the target
 * through the scheduler (source excluded), record Scheduling → PreparingTarget with source
 * and target, and hand the migration to the job queue. Invalid requests (and migrations
 * whose desktop is gone) end Failed with a TerminalError. On deletion the finalizer goes
 * at once unless memory is moving (Migrating): then the orchestrator aborts and removes it.
 */
import { Finalizers, TERMINAL_MIGRATION_PHASES } from '@deskplane/api';
import { migrationJob } from '@deskplane/queue-contracts';
import type { JobQueue } from '@deskplane/queue-contracts';
import type { Informer, ResourceClient } from '@deskplane/resource-store';
import type { DesktopObject, HostObject, MigrationObject, TemplateObject } from '../../resources';
import { TerminalError, type ReconcileResult } from '../../runtime/controller';
import type { SchedulerConfig } from '../../scheduler';
import type { EventSink, ReconcileContext } from '../shared/context';
import { hostCandidate, placedDesktops, placedEntry, templateResources, type Mutex, type PlacementLedger } from '../shared/placement';
import { addFinalizer, hasFinalizer, removeFinalizer, writeStatus } from '../shared/status';
import { desktopRef } from '../virtual-desktop/jobs';
import { decideMigration, decideMigrationDeletion } from './decide';

export interface DesktopMigrationReconcilerDeps {
  migrations: Informer<MigrationObject>;
  desktops: Informer<DesktopObject>;
  hosts: Informer<HostObject>;
  templates: Informer<TemplateObject>;
  client: ResourceClient<MigrationObject>;
  /** Live reads when the cache misses (see run()). */
  desktopClient: ResourceClient<DesktopObject>;
  hostClient: ResourceClient<HostObject>;
  jobs: JobQueue;
  events: EventSink;
  now: () => Date;
  owns: (host: HostObject) => boolean;
  scheduler: SchedulerConfig;
  ledger: PlacementLedger;
  schedulingLock: Mutex;
  unschedulableRetryMs: number;
}

export class DesktopMigrationReconciler {
  constructor(private readonly d: DesktopMigrationReconcilerDeps) {}

  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    return this.d.schedulingLock.run(() => this.run(key, ctx));
  }

  private async run(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const cached = this.d.migrations.get(key);
    if (!cached) return {};
    if (cached.metadata.deletionTimestamp) return this.finalize(cached, ctx);
    const terminal = cached.status?.phase !== undefined && TERMINAL_MIGRATION_PHASES.includes(cached.status.phase);
    const m = terminal || hasFinalizer(cached, Finalizers.MigrationAbort) ? cached : await addFinalizer(this.d.client, cached, Finalizers.MigrationAbort);
    if (!m || m.metadata.deletionTimestamp) return {};
    const ns = m.metadata.namespace ?? '';
    // A miss in the cache may only be cache lag (desktop and migration applied together): ask the store before failing.
    const desktop = this.d.desktops.get(`${ns}/${m.spec.desktopName}`) ?? (await this.d.desktopClient.get(m.spec.desktopName, ns));
    const template = desktop ? this.d.templates.get(`${ns}/${desktop.spec.templateRef.name}`) : undefined;
    const templateOf = (n: string, name: string) => this.d.templates.get(`${n}/${name}`);
    const placed = this.d.ledger.merge(placedDesktops(this.d.desktops.list(), this.d.migrations.list(), templateOf));
    const hostObjects = this.d.hosts.list().filter(this.d.owns);
    const wanted = m.spec.targetHost;
    if (wanted && !hostObjects.some((h) => h.metadata.name === wanted)) {
      const live = await this.d.hostClient.get(wanted);
      if (live && this.d.owns(live)) hostObjects.push(live);
    }
    const hosts = hostObjects.map((h) => hostCandidate(h, placed));
    const now = this.d.now();
    const decision = decideMigration({ migration: m, desktop, template, hosts, scheduler: this.d.scheduler, now });

    switch (decision.kind) {
      case 'terminal':
        return {};
      case 'handedOff':
        await this.enqueue(m, desktop, ctx);
        return {};
      case 'invalid':
        await writeStatus(this.d.client, m, decision.patch, now);
        await this.d.events.warning(m, decision.reason, decision.message);
        throw new TerminalError(`${decision.reason}: ${decision.message}`);
      case 'waitForDesktop':
        await writeStatus(this.d.client, m, decision.patch, now);
        ctx.log.info(decision.message);
        return { requeueAfterMs: this.d.unschedulableRetryMs };
      case 'noTarget':
        await writeStatus(this.d.client, m, decision.patch, now);
        await this.d.events.warning(m, 'FailedScheduling', decision.message);
        return { requeueAfterMs: this.d.unschedulableRetryMs };
      case 'targetSelected': {
        if (!m.status?.phase || m.status.phase === 'Pending') {
          await writeStatus(this.d.client, m, { set: { phase: 'Scheduling', sourceHost: decision.source } }, now);
        }
        // The target's capacity is taken from now on, before the cache shows it.
        if (desktop && template) this.d.ledger.assume(placedEntry(desktop, `migration:${m.metadata.uid ?? m.metadata.name}`, decision.target, templateResources(template)));
        const written = await writeStatus(this.d.client, m, decision.patch, now);
        if (!written) return {};
        await this.d.events.normal(m, 'TargetSelected', `migrating ${ns}/${m.spec.desktopName} from ${decision.source} to ${decision.target}`);
        await this.enqueue(written, desktop, ctx);
        return {};
      }
    }
  }

  private async finalize(m: MigrationObject, ctx: ReconcileContext): Promise<ReconcileResult> {
    const decision = decideMigrationDeletion(m, Finalizers.MigrationAbort);
    switch (decision.kind) {
      case 'nothing':
        return {};
      case 'removeFinalizer': {
        // Re-checked on the fresh object: if the orchestrator wrote Migrating meanwhile, the finalizer stays.
        const removed = await removeFinalizer(this.d.client, m, Finalizers.MigrationAbort, (current) => current.status?.phase === 'Migrating');
        ctx.log.info({ why: decision.why, removed }, removed ? 'abort finalizer removed' : 'migration started meanwhile; abort finalizer kept');
        return {};
      }
      case 'waitForAbort':
        await writeStatus(this.d.client, m, decision.patch, this.d.now());
        if (decision.event) await this.d.events.normal(m, decision.event.reason, decision.event.message);
        ctx.log.info('deleted while migrating; waiting for the orchestrator to abort');
        return {};
    }
  }

  private async enqueue(m: MigrationObject, desktop: DesktopObject | undefined, ctx: ReconcileContext): Promise<void> {
    const { sourceHost, targetHost } = m.status ?? {};
    if (!desktop || !sourceHost || !targetHost) return;
    const job = migrationJob({
      action: 'migrate',
      migration: { namespace: m.metadata.namespace ?? '', name: m.metadata.name, uid: m.metadata.uid ?? '', generation: m.metadata.generation ?? 1 },
      desktop: desktopRef(desktop),
      sourceHost,
      targetHost,
      policy: { ...m.spec.policy },
    });
    const { created } = await this.d.jobs.enqueue(job);
    if (created) ctx.log.info({ jobId: job.jobId, sourceHost, targetHost }, 'migrate job enqueued');
  }
}
