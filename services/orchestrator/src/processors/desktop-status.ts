/**
 * Pure status patches for a VirtualDesktop, one per step the orchestrator owns (after the
 * operator's Provisioning). Every condition carries the generation it was written for.
 * Nothing here ever carries a password: the console status is address and port only.
 */
import { ConditionReason, ConditionType, formatTime, type VirtualDesktopStatus } from '@deskplane/api';
import type { StatusPatch } from '../resources';

export type DesktopPatch = StatusPatch<VirtualDesktopStatus>;

/** Reasons the orchestrator adds to the API's own. */
export const OrchestratorReason = {
  Stopping: 'Stopping',
  StartFailed: 'StartFailed',
  StopFailed: 'StopFailed',
  Migrating: 'Migrating',
} as const;

const g = (generation: number | undefined) => (generation !== undefined ? { observedGeneration: generation } : {});

export function provisioningPatch(host: string, generation: number | undefined): DesktopPatch {
  return {
    set: { phase: 'Provisioning' },
    conditions: [{ type: ConditionType.Ready, status: 'False', reason: ConditionReason.Provisioning, message: `creating the disk overlay and the domain on ${host}`, ...g(generation) }],
  };
}

export function provisionedPatch(host: string, timings: VirtualDesktopStatus['timings'], now: Date, generation: number | undefined): DesktopPatch {
  return {
    set: { timings: { ...timings, provisionedAt: timings?.provisionedAt ?? formatTime(now) } },
    conditions: [{ type: ConditionType.Provisioned, status: 'True', reason: 'Provisioned', message: `disk overlay and domain exist on ${host}`, ...g(generation) }],
  };
}

export function startingPatch(host: string, generation: number | undefined): DesktopPatch {
  return {
    set: { phase: 'Starting' },
    conditions: [{ type: ConditionType.Ready, status: 'False', reason: ConditionReason.Starting, message: `starting the guest on ${host}`, ...g(generation) }],
  };
}

export function runningPatch(
  host: string,
  console: { address: string; port: number },
  timings: VirtualDesktopStatus['timings'],
  now: Date,
  generation: number | undefined,
): DesktopPatch {
  return {
    set: { phase: 'Running', host, console: { ready: true, address: console.address, port: console.port }, timings: { ...timings, runningAt: formatTime(now) } },
    unset: ['migrationRef'],
    conditions: [
      { type: ConditionType.Ready, status: 'True', reason: ConditionReason.Running, message: `running on ${host}, console at ${console.address}:${console.port}`, ...g(generation) },
      { type: ConditionType.Degraded, status: 'False', reason: ConditionReason.Running, message: '', ...g(generation) },
    ],
  };
}

export function stoppingPatch(host: string, generation: number | undefined): DesktopPatch {
  return {
    set: { phase: 'Stopping', console: { ready: false } },
    conditions: [{ type: ConditionType.Ready, status: 'False', reason: OrchestratorReason.Stopping, message: `stopping the guest on ${host}`, ...g(generation) }],
  };
}

export function stoppedPatch(host: string, timings: VirtualDesktopStatus['timings'], now: Date, generation: number | undefined): DesktopPatch {
  return {
    set: { phase: 'Stopped', host, console: { ready: false }, timings: { ...timings, stoppedAt: formatTime(now) } },
    conditions: [{ type: ConditionType.Ready, status: 'False', reason: ConditionReason.Stopped, message: `stopped on ${host}`, ...g(generation) }],
  };
}

/** A step failed for good: phase Failed, Ready=False with the reason and the agent's message. */
export function failedPatch(reason: string, message: string, generation: number | undefined, provisionFailed = false): DesktopPatch {
  return {
    set: { phase: 'Failed', console: { ready: false } },
    conditions: [
      { type: ConditionType.Ready, status: 'False', reason, message: message.slice(0, 1024), ...g(generation) },
      ...(provisionFailed ? [{ type: ConditionType.Provisioned, status: 'False' as const, reason, message: message.slice(0, 1024), ...g(generation) }] : []),
    ],
  };
}

export function migratingPatch(migration: string, source: string, target: string, generation: number | undefined): DesktopPatch {
  return {
    set: { phase: 'Migrating', migrationRef: { name: migration } },
    conditions: [{ type: ConditionType.Ready, status: 'True', reason: OrchestratorReason.Migrating, message: `running on ${source}, migrating to ${target} (${migration})`, ...g(generation) }],
  };
}
