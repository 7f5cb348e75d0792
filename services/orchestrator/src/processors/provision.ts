/**
 * provision: ensure the console secret → EnsureGuest (overlay + domain) → StartGuest unless
 * Halted → wait until running → status Running with the console route (or Stopped for
 * Halted), Event Provisioned. Every step is idempotent (the agent's calls are; the
 * password is read before it is created), so a retry or a re-run after a crash converges.
 */
import { ConditionReason } from '@deskplane/api';
import type { ProvisionDesktopJob } from '@deskplane/queue-contracts';
import { hostAgent } from '@deskplane/grpc-contracts';
import { errorMessage } from '../errors';
import { writeStatus, type DesktopObject } from '../resources';
import { done, skipped, type JobContext, type Outcome, type ProcessorDeps } from './context';
import { failedPatch, provisionedPatch, provisioningPatch, runningPatch, startingPatch, stoppedPatch } from './desktop-status';
import { emit, jobDesktop, waitUntilRunning } from './guest';
import { isRepairJobId } from '../drift/repair-job';

/** Phases in which a provision job still has work to do; any other means it already finished (a replay). */
const PROVISIONING_PHASES = new Set(['Provisioning', 'Starting', 'Failed']);
/** A drift repair (`….r<n>`) re-provisions a desktop whose guest went missing: it also runs on these. */
const REPAIR_PHASES = new Set([...PROVISIONING_PHASES, 'Running', 'Stopped']);

const IMAGE_COMPRESSION: Record<string, hostAgent.ImageCompression> = {
  auto_glz: hostAgent.ImageCompression.IMAGE_COMPRESSION_AUTO_GLZ,
  auto_lz: hostAgent.ImageCompression.IMAGE_COMPRESSION_AUTO_LZ,
  quic: hostAgent.ImageCompression.IMAGE_COMPRESSION_QUIC,
  glz: hostAgent.ImageCompression.IMAGE_COMPRESSION_GLZ,
  lz: hostAgent.ImageCompression.IMAGE_COMPRESSION_LZ,
  off: hostAgent.ImageCompression.IMAGE_COMPRESSION_OFF,
};
const STREAMING: Record<string, hostAgent.StreamingMode> = {
  filter: hostAgent.StreamingMode.STREAMING_MODE_FILTER,
  all: hostAgent.StreamingMode.STREAMING_MODE_ALL,
  off: hostAgent.StreamingMode.STREAMING_MODE_OFF,
};

/** Pure: the agent's GuestSpec for a provision job (the password comes from the secret store). */
export function guestSpec(job: ProvisionDesktopJob, password: string): hostAgent.GuestSpec {
  const t = job.template;
  return {
    desktopUid: job.desktop.uid,
    displayName: `${job.desktop.namespace}/${job.desktop.name}`,
    vcpus: t.vcpus,
    memoryBytes: BigInt(t.memoryBytes),
    diskBytes: BigInt(t.diskBytes),
    goldenImage: t.goldenImage,
    spice: {
      password,
      imageCompression: IMAGE_COMPRESSION[t.imageCompression] ?? hostAgent.ImageCompression.IMAGE_COMPRESSION_UNSPECIFIED,
      streamingMode: STREAMING[t.streamingMode] ?? hostAgent.StreamingMode.STREAMING_MODE_UNSPECIFIED,
    },
  };
}

export async function provision(job: ProvisionDesktopJob, deps: ProcessorDeps, ctx: JobContext): Promise<Outcome> {
  const ref = job.desktop;
  const vd = await jobDesktop(deps, ref);
  if (!vd) return skipped('desktop gone or recreated');
  if (vd.metadata.deletionTimestamp) return skipped('desktop is being deleted');
  if (vd.status?.host !== job.host) return skipped(`desktop is now on ${vd.status?.host ?? 'no host'}, not ${job.host}`);
  const phases = isRepairJobId(ctx.jobId) ? REPAIR_PHASES : PROVISIONING_PHASES;
  if (!phases.has(vd.status?.phase ?? '')) return skipped(`already provisioned (phase ${vd.status?.phase})`);

  const gen = (o: DesktopObject) => o.metadata.generation;
  await writeStatus(deps.desktops, ref, (o) => provisioningPatch(job.host, gen(o)), deps.now());

  const password = await deps.secrets.ensure(ref);
  const agent = await deps.agents.forHost(job.host);
  const defined = await agent.ensureGuest(guestSpec(job, password));
  ctx.log.info({ host: job.host, domain: defined.domainName, disk: defined.diskPath, step: 'ensureGuest' }, 'guest defined');
  await writeStatus(deps.desktops, ref, (o) => provisionedPatch(job.host, o.status?.timings, deps.now(), gen(o)), deps.now());

  if (job.runStrategy === 'Halted') {
    const written = await writeStatus(deps.desktops, ref, (o) => stoppedPatch(job.host, o.status?.timings, deps.now(), gen(o)), deps.now());
    await emit(deps, ctx, written, 'Normal', 'Provisioned', `guest defined on ${job.host}; not started (runStrategy Halted)`);
    return done(`defined on ${job.host}, halted`);
  }

  await writeStatus(deps.desktops, ref, (o) => startingPatch(job.host, gen(o)), deps.now());
  await agent.startGuest(ref.uid);
  const guest = await waitUntilRunning(deps, agent, ref.uid);
  ctx.log.info({ host: job.host, spicePort: guest.spicePort, step: 'running' }, 'guest running');
  const console = { address: guest.consoleAddress, port: guest.spicePort };
  const written = await writeStatus(deps.desktops, ref, (o) => runningPatch(job.host, console, o.status?.timings, deps.now(), gen(o)), deps.now());
  await emit(deps, ctx, written, 'Normal', 'Provisioned', `guest running on ${job.host}, console ready`);
  return done(`running on ${job.host}`, { console });
}

/** The job failed for good (or ran out of attempts): phase Failed, Ready=False ProvisionFailed, Warning Event. */
export async function provisionFailed(job: ProvisionDesktopJob, err: unknown, deps: ProcessorDeps, ctx: JobContext): Promise<void> {
  const message = `provisioning on ${job.host} failed: ${errorMessage(err)}`;
  const written = await writeStatus(deps.desktops, job.desktop, (o) => failedPatch(ConditionReason.ProvisionFailed, message, o.metadata.generation, true), deps.now());
  await emit(deps, ctx, written, 'Warning', ConditionReason.ProvisionFailed, message);
}
