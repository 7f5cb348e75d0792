/**
 * KvmHost loop: heartbeat the agent every `heartbeatIntervalMs` (requeue-after), write
 * capacity, allocation and Ready / Schedulable / Drained, record an Event when Ready
 * flips, and drive the drain of a host in maintenance (drain.ts): one DesktopMigration
 * per desktop placed there, Events when the drain starts, ends or is cancelled.
 */
import { ConditionType, getCondition } from '@deskplane/api';
import { AlreadyExistsError, type Informer, type ResourceClient } from '@deskplane/resource-store';
import type { DesktopObject, HostObject, MigrationObject } from '../../resources';
import type { ReconcileResult } from '../../runtime/controller';
import type { EventSink, ReconcileContext } from '../shared/context';
import { writeStatus } from '../shared/status';
import { decideHostStatus } from './decide';
import { drainEvents, drainNote, planDrain, type DrainPlan } from './drain';
import type { HostAgentProbe } from './probe';

export interface KvmHostReconcilerDeps {
  hosts: Informer<HostObject>;
  desktops: Informer<DesktopObject>;
  migrations: Informer<MigrationObject>;
  client: ResourceClient<HostObject>;
  /** Creates and deletes the drain's migrations. */
  migrationClient: ResourceClient<MigrationObject>;
  probe: HostAgentProbe;
  events: EventSink;
  now: () => Date;
  /** False for hosts outside this operator's host selector. */
  owns: (host: HostObject) => boolean;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  heartbeatGraceMs: number;
}

export class KvmHostReconciler {
  constructor(private readonly d: KvmHostReconcilerDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const host = this.d.hosts.get(key);
    if (!host || !this.d.owns(host) || host.metadata.deletionTimestamp) return {};

    let probe: Parameters<typeof decideHostStatus>[0]['probe'];
    try {
      probe = { ok: true, info: await this.d.probe.getHostInfo(host.spec.agentEndpoint, this.d.heartbeatTimeoutMs) };
    } catch (e) {
      probe = { ok: false, error: e instanceof Error ? e.message : String(e) };
      ctx.log.debug({ err: probe.error }, 'heartbeat failed');
    }
    const name = host.metadata.name;
    const plan = planDrain({ host: name, maintenance: host.spec.maintenance === true, desktops: this.d.desktops.list(), migrations: this.d.migrations.list() });
    const now = this.d.now();
    const before = getCondition(host.status?.conditions, ConditionType.Ready)?.status;
    const drainedBefore = getCondition(host.status?.conditions, ConditionType.Drained)?.reason;
    const note = drainNote(plan);
    const { patch, ready } = decideHostStatus({ host, probe, placedDesktops: plan.remaining, now, graceMs: this.d.heartbeatGraceMs, ...(note ? { drainNote: note } : {}) });
    await writeStatus(this.d.client, host, patch, now);

    if (before !== ready) {
      if (ready === 'True') await this.d.events.normal(host, 'HostReady', `agent at ${host.spec.agentEndpoint} is heartbeating`);
      else if (ready === 'False') await this.d.events.warning(host, 'HostNotReady', `agent at ${host.spec.agentEndpoint} unreachable: ${probe.ok ? '' : probe.error}`);
      ctx.log.info({ ready, before }, 'host readiness changed');
    }

    await this.applyDrain(plan, ctx);
    const drainedAfter = patch.conditions?.find((c) => c.type === ConditionType.Drained)?.reason ?? '';
    for (const e of drainEvents(name, drainedBefore, drainedAfter, plan)) await this.d.events.normal(host, e.reason, e.message);
    return { requeueAfterMs: this.d.heartbeatIntervalMs };
  }

  /** Creates the drain's missing migrations (one already there is fine: the cache lagged) and deletes cancelled ones. */
  private async applyDrain(plan: DrainPlan, ctx: ReconcileContext): Promise<void> {
    for (const m of plan.create) {
      try {
        await this.d.migrationClient.create(m as MigrationObject);
        ctx.log.info({ migration: `${m.metadata.namespace}/${m.metadata.name}`, desktop: m.spec.desktopName }, 'drain migration created');
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
      }
    }
    for (const m of plan.cancel) {
      await this.d.migrationClient.delete(m.metadata.name ?? '', m.metadata.namespace);
      ctx.log.info({ migration: `${m.metadata.namespace}/${m.metadata.name}`, phase: m.status?.phase }, 'drain migration cancelled');
    }
  }
}
