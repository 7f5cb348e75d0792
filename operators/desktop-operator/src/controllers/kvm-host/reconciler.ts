/**
 * KvmHost loop: heartbeat the agent every `heartbeatIntervalMs` (requeue-after), write
 * capacity, allocation and Ready / Schedulable / Drained, and record an Event when Ready
 * flips.
 */
import type { Informer, ResourceClient } from '@deskplane/resource-store';
import type { DesktopObject, HostObject } from '../../resources';
import type { ReconcileResult } from '../../runtime/controller';
import type { EventSink, ReconcileContext } from '../shared/context';
import { writeStatus } from '../shared/status';
import { getCondition, ConditionType } from '@deskplane/api';
import { decideHostStatus } from './decide';
import type { HostAgentProbe } from './probe';

export interface KvmHostReconcilerDeps {
  hosts: Informer<HostObject>;
  desktops: Informer<DesktopObject>;
  client: ResourceClient<HostObject>;
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
    const placed = this.d.desktops.list().filter((vd) => vd.status?.host === host.metadata.name).length;
    const now = this.d.now();
    const before = getCondition(host.status?.conditions, ConditionType.Ready)?.status;
    const { patch, ready } = decideHostStatus({ host, probe, placedDesktops: placed, now, graceMs: this.d.heartbeatGraceMs });
    await writeStatus(this.d.client, host, patch, now);

    if (before !== ready) {
      if (ready === 'True') await this.d.events.normal(host, 'HostReady', `agent at ${host.spec.agentEndpoint} is heartbeating`);
      else if (ready === 'False') await this.d.events.warning(host, 'HostNotReady', `agent at ${host.spec.agentEndpoint} unreachable: ${probe.ok ? '' : probe.error}`);
      ctx.log.info({ ready, before }, 'host readiness changed');
    }
    return { requeueAfterMs: this.d.heartbeatIntervalMs };
  }
}
