/**
 * Pure decisions of the VirtualDesktop loop: where to place a desktop (or why it cannot
 * be placed), and what deleting it still needs. The reconciler gathers the inputs from
 * the informer caches and the job queue, and applies what these return.
 */
import {
  ConditionReason,
  ConditionType,
  formatTime,
  getCondition,
  type DesktopTemplate,
  type VirtualDesktop,
  type VirtualDesktopStatus,
} from '@deskplane/api';
import { schedule, type HostCandidate, type SchedulerConfig } from '../../scheduler';
import type { StatusPatch } from '../shared/status';
import { desktopRequest, templateResources } from '../shared/placement';

/** Reasons the desktop loop adds to the API's own. */
export const DesktopReason = {
  /** Scheduled=False: no host passes the filters (kube-scheduler's PodScheduled reason). */
  Unschedulable: 'Unschedulable',
  Deleting: 'Deleting',
  DeprovisionFailed: 'DeprovisionFailed',
} as const;

export interface EventIntent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type PlacementDecision =
  | { kind: 'scheduled'; host: string; score: number; patch: StatusPatch<VirtualDesktopStatus>; event: EventIntent }
  | { kind: 'unschedulable' | 'templateNotFound'; patch: StatusPatch<VirtualDesktopStatus>; event: EventIntent };

export interface PlacementInput {
  desktop: VirtualDesktop;
  template: Pick<DesktopTemplate, 'spec'> | undefined;
  hosts: readonly HostCandidate[];
  scheduler: SchedulerConfig;
  now: Date;
}

function strategyName(s: SchedulerConfig['strategy']): string {
  if (s === undefined) return 'spread';
  return typeof s === 'string' ? s : `binPack ${s.binPack} / spread ${s.spread}`;
}

export function decidePlacement(i: PlacementInput): PlacementDecision {
  const { desktop: vd, now } = i;
  const ns = vd.metadata.namespace ?? '';
  const name = `${ns}/${vd.metadata.name}`;
  const gen = vd.metadata.generation !== undefined ? { observedGeneration: vd.metadata.generation } : {};
  const pending = (reason: string, message: string): StatusPatch<VirtualDesktopStatus> => ({
    set: { phase: 'Pending', ...gen },
    conditions: [
      { type: ConditionType.Scheduled, status: 'False', reason, message, ...gen },
      { type: ConditionType.Ready, status: 'False', reason: ConditionReason.Pending, message: 'waiting for a host', ...gen },
    ],
  });

  if (!i.template) {
    const message = `DesktopTemplate "${vd.spec.templateRef.name}" not found in namespace ${ns}`;
    return { kind: 'templateNotFound', patch: pending(ConditionReason.TemplateNotFound, message), event: { type: 'Warning', reason: ConditionReason.TemplateNotFound, message } };
  }

  const result = schedule(desktopRequest(vd, templateResources(i.template)), i.hosts, i.scheduler, { explain: true });
  if (!result.ok) {
    return { kind: 'unschedulable', patch: pending(DesktopReason.Unschedulable, result.message), event: { type: 'Warning', reason: 'FailedScheduling', message: result.message } };
  }
  const score = Math.max(0, Math.min(100, Math.round(result.score)));
  const feasible = result.scores?.length ?? 1;
  const at = formatTime(now);
  return {
    kind: 'scheduled',
    host: result.host,
    score,
    patch: {
      set: {
        phase: 'Provisioning',
        host: result.host,
        scheduling: { host: result.host, score, reason: `strategy ${strategyName(i.scheduler.strategy)}: ${feasible} of ${i.hosts.length} hosts feasible`, time: at },
        timings: { ...vd.status?.timings, scheduledAt: at },
        ...gen,
      },
      conditions: [
        { type: ConditionType.Scheduled, status: 'True', reason: ConditionReason.HostSelected, message: `placed on ${result.host} (score ${score})`, ...gen },
        { type: ConditionType.Ready, status: 'False', reason: ConditionReason.Provisioning, message: `provisioning on ${result.host}`, ...gen },
      ],
    },
    event: { type: 'Normal', reason: 'Scheduled', message: `Successfully assigned ${name} to ${result.host}` },
  };
}

export type DeletionDecision =
  | { kind: 'removeFinalizer'; why: string }
  | { kind: 'enqueueDeprovision' | 'waitForDeprovision'; patch: StatusPatch<VirtualDesktopStatus> }
  | { kind: 'deprovisionFailed'; patch: StatusPatch<VirtualDesktopStatus>; event: EventIntent };

/**
 * A desktop being deleted keeps its cleanup finalizer until the guest is gone from its
 * host: never placed → release now; placed → a deprovision job, and release once it has
 * completed. `jobState` is the job's BullMQ state (undefined: no such job).
 */
export function decideDeletion(vd: VirtualDesktop, jobState: string | undefined): DeletionDecision {
  const host = vd.status?.host;
  if (!host) return { kind: 'removeFinalizer', why: 'never placed on a host' };
  if (jobState === 'completed') return { kind: 'removeFinalizer', why: `deprovisioned from ${host}` };
  const gen = vd.metadata.generation !== undefined ? { observedGeneration: vd.metadata.generation } : {};
  const deleting = (message: string, failed = false): StatusPatch<VirtualDesktopStatus> => ({
    set: { phase: 'Deleting', ...gen },
    conditions: [
      { type: ConditionType.Ready, status: 'False', reason: DesktopReason.Deleting, message, ...gen },
      ...(failed ? [{ type: ConditionType.Degraded, status: 'True' as const, reason: DesktopReason.DeprovisionFailed, message, ...gen }] : []),
    ],
  });
  if (jobState === undefined) return { kind: 'enqueueDeprovision', patch: deleting(`removing the guest from ${host}`) };
  if (jobState === 'failed') {
    const message = `deprovision job on ${host} failed; the finalizer stays until the guest is removed`;
    return { kind: 'deprovisionFailed', patch: deleting(message, true), event: { type: 'Warning', reason: DesktopReason.DeprovisionFailed, message } };
  }
  return { kind: 'waitForDeprovision', patch: deleting(`removing the guest from ${host} (job ${jobState})`) };
}

/** The generation a placement was decided for: the Scheduled condition's, else the object's. */
export function decisionGeneration(vd: VirtualDesktop): number {
  return getCondition(vd.status?.conditions, ConditionType.Scheduled)?.observedGeneration ?? vd.metadata.generation ?? 1;
}
