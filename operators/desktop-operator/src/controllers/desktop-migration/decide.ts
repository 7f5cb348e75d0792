/**
 * Pure decisions of the DesktopMigration loop: is the request valid, and which host does
 * the desktop go to. An invalid request fails for good (the spec is immutable: delete and
 * recreate); "no host fits right now" is retried.
 */
import { ConditionReason, ConditionType, formatTime, getCondition, TERMINAL_MIGRATION_PHASES, type DesktopMigration, type DesktopMigrationStatus, type DesktopTemplate, type VirtualDesktop } from '@deskplane/api';
import { schedule, type HostCandidate, type SchedulerConfig } from '../../scheduler';
import { desktopRequest, templateResources } from '../shared/placement';
import type { StatusPatch } from '../shared/status';

/** Why a migration request is refused (the Ready condition's reason and the Event's). */
export const MigrationInvalidReason = {
  DesktopNotFound: 'DesktopNotFound',
  DesktopDeleting: 'DesktopDeleting',
  /** Not a refusal: the migration waits (phase Pending) until the desktop has a host. */
  DesktopNotPlaced: 'DesktopNotPlaced',
  TemplateNotFound: 'TemplateNotFound',
  TargetNotFound: 'TargetNotFound',
  TargetIsSource: 'TargetIsSource',
  TargetNotReady: 'TargetNotReady',
  TargetUnschedulable: 'TargetUnschedulable',
} as const;

export interface MigrationInput {
  migration: DesktopMigration;
  desktop: VirtualDesktop | undefined;
  template: Pick<DesktopTemplate, 'spec'> | undefined;
  /** Every host this operator schedules onto, as the scheduler sees them. */
  hosts: readonly HostCandidate[];
  scheduler: SchedulerConfig;
  now: Date;
}

export type MigrationDecision =
  | { kind: 'handedOff' | 'terminal' }
  | { kind: 'invalid'; reason: string; message: string; patch: StatusPatch<DesktopMigrationStatus> }
  | { kind: 'noTarget' | 'waitForDesktop'; message: string; patch: StatusPatch<DesktopMigrationStatus> }
  | { kind: 'targetSelected'; source: string; target: string; patch: StatusPatch<DesktopMigrationStatus> };

export function decideMigration(i: MigrationInput): MigrationDecision {
  const m = i.migration;
  const phase = m.status?.phase;
  if (phase && TERMINAL_MIGRATION_PHASES.includes(phase)) return { kind: 'terminal' };
  const gen = m.metadata.generation !== undefined ? { observedGeneration: m.metadata.generation } : {};
  const ns = m.metadata.namespace ?? '';
  const invalid = (reason: string, message: string): MigrationDecision => ({
    kind: 'invalid',
    reason,
    message,
    patch: {
      set: { phase: 'Failed', endTime: formatTime(i.now), ...gen },
      conditions: [
        { type: ConditionType.Ready, status: 'False', reason, message, ...gen },
        { type: ConditionType.Progressing, status: 'False', reason: ConditionReason.MigrationFailed, message, ...gen },
      ],
    },
  });

  // A desktop that is gone ends the migration in any phase; one being deleted ends it
  // unless memory is already moving (then the orchestrator's job sees the deletion and aborts).
  const vd = i.desktop;
  if (!vd) return invalid(MigrationInvalidReason.DesktopNotFound, `VirtualDesktop "${m.spec.desktopName}" not found in namespace ${ns}`);
  if (vd.metadata.deletionTimestamp && phase !== 'Migrating') return invalid(MigrationInvalidReason.DesktopDeleting, `VirtualDesktop "${m.spec.desktopName}" is being deleted`);
  if (phase === 'PreparingTarget' || phase === 'Migrating') return { kind: 'handedOff' };
  const source = vd.status?.host;
  if (!source) {
    // Created together with its desktop (kubectl apply -f dir): wait for the placement, do not fail.
    const message = `waiting for VirtualDesktop "${m.spec.desktopName}" to be placed on a host`;
    return {
      kind: 'waitForDesktop',
      message,
      patch: { set: { phase: 'Pending', ...gen }, conditions: [{ type: ConditionType.Progressing, status: 'False', reason: MigrationInvalidReason.DesktopNotPlaced, message, ...gen }] },
    };
  }
  if (!i.template) return invalid(MigrationInvalidReason.TemplateNotFound, `DesktopTemplate "${vd.spec.templateRef.name}" not found in namespace ${ns}`);

  const wanted = m.spec.targetHost;
  let candidates = i.hosts;
  if (wanted !== undefined) {
    if (wanted === source) return invalid(MigrationInvalidReason.TargetIsSource, `target host ${wanted} is the desktop's current host`);
    const target = i.hosts.find((h) => h.name === wanted);
    if (!target) return invalid(MigrationInvalidReason.TargetNotFound, `KvmHost "${wanted}" not found`);
    if (!target.ready) return invalid(MigrationInvalidReason.TargetNotReady, `KvmHost "${wanted}" is not Ready`);
    candidates = [target];
  }

  const result = schedule(desktopRequest(vd, templateResources(i.template), [source]), candidates, i.scheduler);
  if (!result.ok) {
    if (wanted !== undefined) return invalid(MigrationInvalidReason.TargetUnschedulable, `target host ${wanted} cannot take the desktop: ${result.rejections[0]?.detail ?? result.message}`);
    return {
      kind: 'noTarget',
      message: result.message,
      patch: {
        set: { phase: 'Scheduling', sourceHost: source, ...gen },
        conditions: [{ type: ConditionType.Progressing, status: 'False', reason: ConditionReason.NoFeasibleHost, message: result.message, ...gen }],
      },
    };
  }
  return {
    kind: 'targetSelected',
    source,
    target: result.host,
    patch: {
      set: { phase: 'PreparingTarget', sourceHost: source, targetHost: result.host, ...gen },
      conditions: [{ type: ConditionType.Progressing, status: 'True', reason: 'TargetSelected', message: `moving from ${source} to ${result.host}`, ...gen }],
    },
  };
}

export const MigrationAbortReason = {
  /** Progressing=True while the orchestrator aborts a Migrating migration that was deleted. */
  Aborting: 'Aborting',
} as const;

export type MigrationDeletionDecision =
  | { kind: 'nothing' }
  | { kind: 'removeFinalizer'; why: string }
  | { kind: 'waitForAbort'; patch: StatusPatch<DesktopMigrationStatus>; event?: { reason: string; message: string } };

/**
 * A deleted migration holding `deskplane.io/migration-abort`: while memory is moving
 * (Migrating) the finalizer stays — the orchestrator's migrate job sees the
 * deletionTimestamp, aborts (the guest stays on the source) and removes it. In any other
 * phase there is nothing to abort: the finalizer goes at once.
 */
export function decideMigrationDeletion(m: DesktopMigration, finalizer: string): MigrationDeletionDecision {
  if (!m.metadata.deletionTimestamp || !m.metadata.finalizers?.includes(finalizer)) return { kind: 'nothing' };
  const phase = m.status?.phase;
  if (phase !== 'Migrating') return { kind: 'removeFinalizer', why: `phase ${phase ?? 'unset'}: nothing to abort` };
  const gen = m.metadata.generation !== undefined ? { observedGeneration: m.metadata.generation } : {};
  const message = `deleted while migrating: the orchestrator aborts it; the guest stays on ${m.status?.sourceHost ?? 'the source'}`;
  const already = getCondition(m.status?.conditions, ConditionType.Progressing)?.reason === MigrationAbortReason.Aborting;
  return {
    kind: 'waitForAbort',
    patch: { conditions: [{ type: ConditionType.Progressing, status: 'True', reason: MigrationAbortReason.Aborting, message, ...gen }] },
    ...(already ? {} : { event: { reason: 'AbortRequested', message } }),
  };
}
