/** Pure pieces of the migrate flow: the agent request, and status patches for both objects. */
import { ConditionReason, ConditionType, formatTime, type DesktopMigrationStatus } from '@deskplane/api';
import type { MigrateDesktopJob } from '@deskplane/queue-contracts';
import type { hostAgent } from '@deskplane/grpc-contracts';
import type { StatusPatch } from '../resources';
import type { DesktopPatch } from './desktop-status';

export type MigrationPatch = StatusPatch<DesktopMigrationStatus>;

/** Seconds of pre-copy before switching to post-copy, when the policy allows post-copy. */
export const POST_COPY_AFTER_SECONDS = 30;

const g = (generation: number | undefined) => (generation !== undefined ? { observedGeneration: generation } : {});

/** Pure: MigrateGuest's request from the job and the destination's HostInfo. */
export function migrateRequest(job: MigrateDesktopJob, dest: Pick<hostAgent.HostInfo, 'migrationUri' | 'consoleAddress'>, graphicsUri = ''): hostAgent.MigrateGuestRequest {
  const p = job.policy;
  return {
    desktopUid: job.desktop.uid,
    destinationMigrationUri: dest.migrationUri,
    destinationAddress: dest.consoleAddress,
    graphicsUri,
    policy: {
      bandwidthMibPerSecond: BigInt(p.bandwidthMiBps ?? 0),
      autoConverge: p.autoConverge ?? false,
      postCopy: p.postCopy ?? false,
      postCopyAfterSeconds: p.postCopy ? POST_COPY_AFTER_SECONDS : 0,
      completionTimeoutSeconds: p.completionTimeoutSeconds ?? 300,
      maxDowntimeMs: 0,
    },
  };
}

export function migratingMigrationPatch(current: DesktopMigrationStatus | undefined, job: MigrateDesktopJob, now: Date, generation: number | undefined): MigrationPatch {
  return {
    set: { phase: 'Migrating', sourceHost: job.sourceHost, targetHost: job.targetHost, startTime: current?.startTime ?? formatTime(now), ...g(generation) },
    conditions: [{ type: ConditionType.Progressing, status: 'True', reason: ConditionReason.MigrationRunning, message: `moving memory from ${job.sourceHost} to ${job.targetHost}`, ...g(generation) }],
  };
}

/** Pure: bytes and percent from one progress sample. */
export function progressPatch(p: Pick<hostAgent.MigrationProgress, 'bytesProcessed' | 'bytesRemaining'>): MigrationPatch {
  const processed = Number(p.bytesProcessed);
  const remaining = Number(p.bytesRemaining);
  const total = processed + remaining;
  return { set: { bytesProcessed: processed, bytesRemaining: remaining, progressPercent: total > 0 ? Math.min(100, Math.floor((processed * 100) / total)) : 0 } };
}

export function succeededPatch(r: { bytesProcessed?: number; downtimeMs?: number }, now: Date, generation: number | undefined, target: string): MigrationPatch {
  const message = `the guest runs on ${target}${r.downtimeMs !== undefined ? ` (downtime ${r.downtimeMs} ms)` : ''}`;
  return {
    set: {
      phase: 'Succeeded',
      endTime: formatTime(now),
      bytesRemaining: 0,
      progressPercent: 100,
      ...(r.bytesProcessed !== undefined ? { bytesProcessed: r.bytesProcessed } : {}),
      ...(r.downtimeMs !== undefined ? { downtimeMs: r.downtimeMs } : {}),
    },
    conditions: [
      { type: ConditionType.Progressing, status: 'False', reason: ConditionReason.MigrationSucceeded, message, ...g(generation) },
      { type: ConditionType.Ready, status: 'True', reason: ConditionReason.MigrationSucceeded, message, ...g(generation) },
    ],
  };
}

/** Failed or Aborted: the guest stays on the source. */
export function endedPatch(phase: 'Failed' | 'Aborted', message: string, now: Date, generation: number | undefined): MigrationPatch {
  const reason = phase === 'Failed' ? ConditionReason.MigrationFailed : ConditionReason.MigrationAborted;
  return {
    set: { phase, endTime: formatTime(now) },
    conditions: [
      { type: ConditionType.Progressing, status: 'False', reason, message: message.slice(0, 1024), ...g(generation) },
      { type: ConditionType.Ready, status: 'False', reason, message: message.slice(0, 1024), ...g(generation) },
    ],
  };
}

/** The desktop after a migration that succeeded: on the target, its console there; runningAt kept. */
export function migratedDesktopPatch(target: string, console: { address: string; port: number }, generation: number | undefined): DesktopPatch {
  return {
    set: { phase: 'Running', host: target, console: { ready: true, address: console.address, port: console.port } },
    unset: ['migrationRef'],
    conditions: [{ type: ConditionType.Ready, status: 'True', reason: ConditionReason.Running, message: `running on ${target}, console at ${console.address}:${console.port}`, ...g(generation) }],
  };
}

/** The desktop after a migration that did not happen: back to Running where it was (host and console unchanged). */
export function stayedDesktopPatch(source: string, why: string, generation: number | undefined): DesktopPatch {
  return {
    set: { phase: 'Running' },
    unset: ['migrationRef'],
    conditions: [{ type: ConditionType.Ready, status: 'True', reason: ConditionReason.Running, message: `running on ${source} (${why})`.slice(0, 1024), ...g(generation) }],
  };
}
