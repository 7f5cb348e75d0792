/**
 * migrate: take a slot (per source host and cluster-wide) → phase Migrating → find where
 * the guest actually is (crash safety) → MigrateGuest from the source agent, following
 * its progress into status (throttled) and aborting when the DesktopMigration is deleted
 * → bookkeeping: the desktop's host, label and console move to the target, the migration
 * ends Succeeded with bytes and downtime. A migration that fails leaves the desktop
 * Running on the source.
 *
 * After a crash the job runs again and first asks both agents where the guest is:
 * already running on the target → only the bookkeeping is left; still on the source with
 * the agent still migrating it (MigrateGuest answers ABORTED "already migrating") → wait
 * for that migration instead of starting another; on the source and idle → start again.
 */
import { Finalizers, Labels, TERMINAL_MIGRATION_PHASES } from '@deskplane/api';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { MigrateDesktopJob } from '@deskplane/queue-contracts';
import { isRunning, emit, jobDesktop, waitUntilRunning } from './guest';
import { MigrationPhase, guestStateName, type HostAgent, type MigrationProgress } from '../agents';
import { AgentCallError, errorMessage, GuestStateError, InvalidJobError, MigrationFailedError, SlotUnavailableError } from '../errors';
import { withLabel, withoutFinalizer, writeMeta, writeStatus, type MigrationObject } from '../resources';
import { done, skipped, type JobContext, type Outcome, type ProcessorDeps, type SlotEvent } from './context';
import { migratingPatch } from './desktop-status';
import { endedPatch, migratedDesktopPatch, migrateRequest, migratingMigrationPatch, progressPatch, stayedDesktopPatch, succeededPatch } from './migration-status';

/** How long to wait for the incoming guest's SPICE port before lifting the cap without the gateway. */
const INCOMING_PORT_WAIT_MS = 10_000;

type Result = { kind: 'succeeded'; bytesProcessed?: number; downtimeMs?: number; recovered: boolean } | { kind: 'aborted' };

async function jobMigration(deps: ProcessorDeps, job: MigrateDesktopJob): Promise<MigrationObject | undefined> {
  const m = await deps.migrations.get(job.migration.name, job.migration.namespace);
  return m && m.metadata.uid === job.migration.uid ? m : undefined;
}

export async function migrate(job: MigrateDesktopJob, deps: ProcessorDeps, ctx: JobContext): Promise<Outcome> {
  const m = await jobMigration(deps, job);
  if (!m) return skipped('migration gone or recreated');
  if (m.status?.phase && TERMINAL_MIGRATION_PHASES.includes(m.status.phase)) return skipped(`already ${m.status.phase}`);
  const vd = await jobDesktop(deps, job.desktop);
  if (!vd || vd.metadata.deletionTimestamp) throw new InvalidJobError(`desktop ${job.desktop.namespace}/${job.desktop.name} is gone or being deleted`);
  const [source, target] = await Promise.all([deps.agents.forHost(job.sourceHost), deps.agents.forHost(job.targetHost)]);

  const slotEvent = (kind: SlotEvent['kind']) => deps.onSlotEvent?.({ kind, holder: ctx.jobId, sourceHost: job.sourceHost, targetHost: job.targetHost, at: Date.now() });
  if (!(await deps.slots.acquire(ctx.jobId, job.sourceHost))) {
    slotEvent('wait');
    ctx.log.info({ slot: 'wait', sourceHost: job.sourceHost, at: new Date().toISOString() }, 'no migration slot free');
    throw new SlotUnavailableError(job.sourceHost, deps.timing.slotRetryMs);
  }
  slotEvent('acquire');
  ctx.log.info({ slot: 'acquire', sourceHost: job.sourceHost, at: new Date().toISOString() }, 'migration slot acquired');
  deps.onMigrationsInFlight?.(1);
  const renew = setInterval(() => {
    deps.slots.renew(ctx.jobId, job.sourceHost).then(
      (ok) => ok || ctx.log.warn({ sourceHost: job.sourceHost }, 'migration slot lease lost'),
      (e: unknown) => ctx.log.warn({ err: errorMessage(e) }, 'migration slot renewal failed'),
    );
  }, deps.timing.slotRenewMs);
  try {
    const hookArgs = { namespace: job.desktop.namespace, desktop: job.desktop.name, sourceHost: job.sourceHost, targetHost: job.targetHost };
    const settled = (succeeded: boolean): Promise<void> =>
      deps.hooks.afterMigration?.({ ...hookArgs, succeeded }).catch((e: unknown) => ctx.log.warn({ err: errorMessage(e) }, 'afterMigration failed')) ?? Promise.resolve();
    const result = await run(job, deps, ctx, source, target).catch(async (e: unknown) => {
      await settled(false);
      throw e;
    });
    await settled(result.kind === 'succeeded');
    return result.kind === 'aborted' ? await recordAborted(job, deps, ctx) : await recordSucceeded(job, deps, ctx, target, result);
  } finally {
    clearInterval(renew);
    slotEvent('release');
    await deps.slots.release(ctx.jobId, job.sourceHost).catch((e: unknown) => ctx.log.warn({ err: errorMessage(e) }, 'slot release failed (the lease expires by itself)'));
    deps.onMigrationsInFlight?.(-1);
    ctx.log.info({ slot: 'release', sourceHost: job.sourceHost, at: new Date().toISOString() }, 'migration slot released');
  }
}

async function run(job: MigrateDesktopJob, deps: ProcessorDeps, ctx: JobContext, source: HostAgent, target: HostAgent): Promise<Result> {
  const uid = job.desktop.uid;
  let abortRequested = false;
  const abortIfDeleted = async (m: MigrationObject | undefined): Promise<void> => {
    if (!m?.metadata.deletionTimestamp || abortRequested) return;
    abortRequested = true;
    ctx.log.info({ step: 'abort' }, 'DesktopMigration deleted: aborting the migration');
    await source.abortMigration(uid);
  };

  const started = await writeStatus(deps.migrations, job.migration, (o) => migratingMigrationPatch(o.status, job, deps.now(), o.metadata.generation), deps.now());
  if (!started) {
    // Deleted (and its finalizer already dropped) or replaced before it could start:
    // nobody asks for this migration any more, so it never starts.
    ctx.log.info({ step: 'start' }, 'DesktopMigration is gone: not starting the migration');
    return { kind: 'aborted' };
  }
  await abortIfDeleted(started);
  await writeStatus(deps.desktops, job.desktop, (o) => migratingPatch(job.migration.name, job.sourceHost, job.targetHost, o.metadata.generation), deps.now());
  await emit(deps, ctx, started, 'Normal', 'MigrationStarted', `migrating from ${job.sourceHost} to ${job.targetHost}`);
  const hostInfo = await target.getHostInfo();
  const request = migrateRequest(job, hostInfo, deps.hooks.graphicsUri ?? '');
  const hold = deps.hooks.holdBandwidthMiBps;
  if (hold !== undefined && request.policy) request.policy.bandwidthMibPerSecond = BigInt(hold);
  const hookArgs = { namespace: job.desktop.namespace, desktop: job.desktop.name, sourceHost: job.sourceHost, targetHost: job.targetHost };
  // Clients first, then speed: the gateway resolves the hook once every client of the desktop
  // is linked to the destination; only then does the migration get its real bandwidth.
  const liftCap = async (): Promise<void> => {
    try {
      // The incoming QEMU gets its SPICE port a moment after the migration starts: wait for it.
      let incoming = await target.getGuest(uid).catch(() => undefined);
      for (let waited = 0; !(incoming && incoming.spicePort > 0) && waited < INCOMING_PORT_WAIT_MS; waited += deps.timing.pollMs) {
        await deps.sleep(deps.timing.pollMs);
        incoming = await target.getGuest(uid).catch(() => undefined);
      }
      if (!incoming || incoming.spicePort <= 0) throw new Error(`the destination ${job.targetHost} reports no SPICE port for the incoming guest`);
      const destination = { address: incoming.consoleAddress || hostInfo.consoleAddress, port: incoming.spicePort };
      await deps.hooks.beforeLiftingCap({ ...hookArgs, destination });
    } catch (e) {
      ctx.log.warn({ err: errorMessage(e) }, 'beforeLiftingCap failed; lifting the cap anyway');
    }
    if (hold === undefined) return;
    await source
      .setMigrationBandwidth(uid, job.policy.bandwidthMiBps ?? 0)
      .then(() => ctx.log.info({ step: 'liftCap', bandwidthMiBps: job.policy.bandwidthMiBps ?? 0 }, 'migration bandwidth cap lifted'))
      .catch((e: unknown) => ctx.log.warn({ err: errorMessage(e) }, 'could not lift the migration bandwidth cap'));
  };

  let lastWrite = 0;
  let writing = false;
  let hookCalled = false;
  const onProgress = (p: MigrationProgress): void => {
    if (p.phase !== MigrationPhase.MIGRATION_PHASE_MIGRATING && p.phase !== MigrationPhase.MIGRATION_PHASE_POST_COPY) return;
    // Only once data moves: a speed set while virsh is still starting the migration is
    // overwritten by its own --bandwidth, and the migration would crawl at the hold rate.
    if (!hookCalled) {
      hookCalled = true;
      void liftCap();
    }
    const t = Date.now();
    if (writing || t - lastWrite < deps.timing.progressWriteMs) return;
    lastWrite = t;
    writing = true;
    ctx.log.info({ step: 'progress', bytesProcessed: Number(p.bytesProcessed), bytesRemaining: Number(p.bytesRemaining) }, 'migration progress');
    writeStatus(deps.migrations, job.migration, progressPatch(p), deps.now())
      .then(abortIfDeleted)
      .catch((e: unknown) => ctx.log.warn({ err: errorMessage(e) }, 'progress not written'))
      .finally(() => (writing = false));
  };

  for (;;) {
    const [onTarget, onSource] = await Promise.all([target.getGuest(uid), source.getGuest(uid)]);
    if (isRunning(onTarget) && !isRunning(onSource)) {
      ctx.log.info({ step: 'locate' }, 'guest already runs on the target');
      return { kind: 'succeeded', recovered: true };
    }
    if (abortRequested) return { kind: 'aborted' };
    if (!isRunning(onSource)) {
      if (onTarget) {
        await deps.sleep(deps.timing.pollMs); // switching over: the target has it, not running yet
        continue;
      }
      throw new GuestStateError(`guest is not running on ${job.sourceHost} (${guestStateName(onSource?.state)}) nor on ${job.targetHost}`);
    }
    let final: MigrationProgress;
    try {
      ctx.log.info({ step: 'migrateGuest', destination: request.destinationMigrationUri }, 'starting live migration');
      final = await source.migrateGuest(request, onProgress);
    } catch (e) {
      if (!(e instanceof AgentCallError && e.grpcCode === GrpcStatus.ABORTED)) throw e;
      // An earlier run of this job (before a crash) started it and the agent still runs it: follow it.
      ctx.log.info({ step: 'follow' }, 'a migration of this guest is already running; waiting for it');
      await abortIfDeleted(await jobMigration(deps, job));
      await deps.sleep(deps.timing.pollMs * 2);
      continue;
    }
    if (final.phase === MigrationPhase.MIGRATION_PHASE_SUCCEEDED) {
      return { kind: 'succeeded', bytesProcessed: Number(final.bytesProcessed), downtimeMs: Number(final.downtimeMs), recovered: false };
    }
    if (final.phase === MigrationPhase.MIGRATION_PHASE_ABORTED && abortRequested) return { kind: 'aborted' };
    throw new MigrationFailedError(final.message || `migration ended ${MigrationPhase[final.phase]}`);
  }
}

async function recordSucceeded(job: MigrateDesktopJob, deps: ProcessorDeps, ctx: JobContext, target: HostAgent, r: Extract<Result, { kind: 'succeeded' }>): Promise<Outcome> {
  const guest = await waitUntilRunning(deps, target, job.desktop.uid);
  const console = { address: guest.consoleAddress, port: guest.spicePort };
  // The desktop first: it is the record of where the guest is.
  const vd = await writeStatus(deps.desktops, job.desktop, (o) => migratedDesktopPatch(job.targetHost, console, o.metadata.generation), deps.now());
  await writeMeta(deps.desktops, job.desktop, withLabel(Labels.Host, job.targetHost));
  const m = await writeStatus(deps.migrations, job.migration, (o) => succeededPatch(r, deps.now(), o.metadata.generation, job.targetHost), deps.now());
  if (m?.metadata.deletionTimestamp) await writeMeta(deps.migrations, job.migration, withoutFinalizer(Finalizers.MigrationAbort));
  const how = r.downtimeMs !== undefined ? ` (downtime ${r.downtimeMs} ms)` : r.recovered ? ' (finished while the orchestrator was away)' : '';
  await emit(deps, ctx, vd, 'Normal', 'Migrated', `moved from ${job.sourceHost} to ${job.targetHost}${how}`);
  await emit(deps, ctx, m, 'Normal', 'MigrationSucceeded', `the guest runs on ${job.targetHost}${how}`);
  ctx.log.info({ step: 'succeeded', downtimeMs: r.downtimeMs, bytesProcessed: r.bytesProcessed, recovered: r.recovered }, 'migration succeeded');
  return done(`on ${job.targetHost}`, { downtimeMs: r.downtimeMs, bytesProcessed: r.bytesProcessed, recovered: r.recovered });
}

async function recordAborted(job: MigrateDesktopJob, deps: ProcessorDeps, ctx: JobContext): Promise<Outcome> {
  const why = 'the DesktopMigration was deleted; the guest stays on the source';
  const vd = await writeStatus(deps.desktops, job.desktop, (o) => (o.status?.migrationRef?.name === job.migration.name ? stayedDesktopPatch(job.sourceHost, 'migration aborted', o.metadata.generation) : undefined), deps.now());
  const m = await writeStatus(deps.migrations, job.migration, (o) => endedPatch('Aborted', why, deps.now(), o.metadata.generation), deps.now());
  await emit(deps, ctx, m, 'Normal', 'MigrationAborted', why);
  await emit(deps, ctx, vd, 'Normal', 'MigrationAborted', `migration ${job.migration.name} aborted; still on ${job.sourceHost}`);
  await writeMeta(deps.migrations, job.migration, withoutFinalizer(Finalizers.MigrationAbort));
  ctx.log.info({ step: 'aborted' }, 'migration aborted');
  return done('aborted', { aborted: true });
}

/** The job failed for good: migration Failed with the reason, the desktop back to Running on the source. */
export async function migrateFailed(job: MigrateDesktopJob, err: unknown, deps: ProcessorDeps, ctx: JobContext): Promise<void> {
  const message = `migration from ${job.sourceHost} to ${job.targetHost} failed: ${errorMessage(err)}`;
  const m = await writeStatus(deps.migrations, job.migration, (o) => (o.status?.phase && TERMINAL_MIGRATION_PHASES.includes(o.status.phase) ? undefined : endedPatch('Failed', message, deps.now(), o.metadata.generation)), deps.now());
  const vd = await writeStatus(deps.desktops, job.desktop, (o) => (o.status?.migrationRef?.name === job.migration.name ? stayedDesktopPatch(job.sourceHost, 'migration failed', o.metadata.generation) : undefined), deps.now());
  await emit(deps, ctx, m, 'Warning', 'MigrationFailed', message);
  await emit(deps, ctx, vd, 'Warning', 'MigrationFailed', message);
  if (m?.metadata.deletionTimestamp) await writeMeta(deps.migrations, job.migration, withoutFinalizer(Finalizers.MigrationAbort));
}
