/**
 * start / stop (run strategy changes, decided by the operator): StartGuest → wait until
 * running → Running with the console route; StopGuest (ACPI, forced after the timeout) →
 * Stopped. Both are idempotent; a job for a host the desktop has left is skipped.
 */
import type { SetPowerJob } from '@deskplane/queue-contracts';
import { errorMessage } from '../errors';
import { writeStatus } from '../resources';
import { done, skipped, type JobContext, type Outcome, type ProcessorDeps } from './context';
import { failedPatch, OrchestratorReason, runningPatch, startingPatch, stoppedPatch, stoppingPatch } from './desktop-status';
import { emit, jobDesktop, waitUntilRunning } from './guest';

export async function setPower(job: SetPowerJob, deps: ProcessorDeps, ctx: JobContext): Promise<Outcome> {
  const ref = job.desktop;
  const vd = await jobDesktop(deps, ref);
  if (!vd) return skipped('desktop gone or recreated');
  if (vd.metadata.deletionTimestamp) return skipped('desktop is being deleted');
  if (vd.status?.host !== job.host) return skipped(`desktop is on ${vd.status?.host ?? 'no host'}, not ${job.host}`);
  if (vd.status?.phase === 'Migrating') throw new Error('desktop is migrating; retrying after the migration'); // transient: retried with backoff
  const agent = await deps.agents.forHost(job.host);

  if (job.action === 'start') {
    await writeStatus(deps.desktops, ref, (o) => startingPatch(job.host, o.metadata.generation), deps.now());
    await agent.startGuest(ref.uid);
    const guest = await waitUntilRunning(deps, agent, ref.uid);
    const console = { address: guest.consoleAddress, port: guest.spicePort };
    const written = await writeStatus(deps.desktops, ref, (o) => runningPatch(job.host, console, o.status?.timings, deps.now(), o.metadata.generation), deps.now());
    await emit(deps, ctx, written, 'Normal', 'Started', `guest started on ${job.host}`);
    return done(`running on ${job.host}`);
  }
  await writeStatus(deps.desktops, ref, (o) => stoppingPatch(job.host, o.metadata.generation), deps.now());
  await agent.stopGuest(ref.uid, deps.timing.stopTimeoutSeconds);
  const written = await writeStatus(deps.desktops, ref, (o) => stoppedPatch(job.host, o.status?.timings, deps.now(), o.metadata.generation), deps.now());
  await emit(deps, ctx, written, 'Normal', 'Stopped', `guest stopped on ${job.host}`);
  return done(`stopped on ${job.host}`);
}

export async function setPowerFailed(job: SetPowerJob, err: unknown, deps: ProcessorDeps, ctx: JobContext): Promise<void> {
  const reason = job.action === 'start' ? OrchestratorReason.StartFailed : OrchestratorReason.StopFailed;
  const message = `${job.action} on ${job.host} failed: ${errorMessage(err)}`;
  const written = await writeStatus(deps.desktops, job.desktop, (o) => failedPatch(reason, message, o.metadata.generation), deps.now());
  await emit(deps, ctx, written, 'Warning', reason, message);
}
