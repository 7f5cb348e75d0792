/**
 * The only place that knows BullMQ: a Worker per queue, each job dispatched to its
 * processor by action, and the outcome turned into BullMQ control flow:
 *
 * - processor returns            → job completed (its Outcome is the return value);
 * - SlotUnavailableError         → job.moveToDelayed + DelayedError (back later, no attempt used);
 * - permanent error (retryable false) → the processor's failure hook writes Failed status,
 *                                  then UnrecoverableError (no more attempts);
 * - transient error              → rethrown: BullMQ retries with exponential backoff; on the
 *                                  last attempt the failure hook runs first.
 *
 * A killed worker's job is found by BullMQ's stalled-job check (lock expired) and run again.
 */
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { QUEUES, type DeskplaneJob, type QueueName } from '@deskplane/queue-contracts';
import type { Logger } from 'pino';
import { errorMessage, isRetryable, SlotUnavailableError } from './errors';
import type { OrchestratorMetrics } from './metrics';
import type { JobContext, Outcome, ProcessorDeps } from './processors/context';
import { deprovision } from './processors/deprovision';
import { migrate, migrateFailed } from './processors/migrate';
import { setPower, setPowerFailed } from './processors/power';
import { provision, provisionFailed } from './processors/provision';

export interface Processor<J extends DeskplaneJob = DeskplaneJob> {
  run(job: J, deps: ProcessorDeps, ctx: JobContext): Promise<Outcome>;
  /** Writes the resource's Failed state; called once, when the job fails for good. */
  failed?(job: J, err: unknown, deps: ProcessorDeps, ctx: JobContext): Promise<void>;
}

export const PROCESSORS: { [A in DeskplaneJob['action']]: Processor<Extract<DeskplaneJob, { action: A }>> } = {
  provision: { run: provision, failed: provisionFailed },
  deprovision: { run: deprovision }, // the operator reports a failed deprovision (Degraded, finalizer kept)
  start: { run: setPower, failed: setPowerFailed },
  stop: { run: setPower, failed: setPowerFailed },
  migrate: { run: migrate, failed: migrateFailed },
};

/** Pure: does this failed attempt end the job? */
export function isFinalAttempt(err: unknown, attemptsMade: number, maxAttempts: number | undefined): boolean {
  return !isRetryable(err) || attemptsMade + 1 >= (maxAttempts ?? 1);
}

export function jobLogFields(queue: string, job: Pick<Job<DeskplaneJob>, 'id' | 'data'>): Record<string, unknown> {
  const d = job.data;
  return { jobId: job.id, queue, action: d.action, desktop: `${d.desktop.namespace}/${d.desktop.name}`, ...(d.action === 'migrate' ? { migration: d.migration.name } : {}) };
}

export interface WorkersOptions {
  connection: ConnectionOptions;
  prefix: string;
  deps: ProcessorDeps;
  log: Logger;
  metrics?: OrchestratorMetrics;
  concurrency: { lifecycle: number; migration: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
}

export class Workers {
  readonly workers: Worker[];

  constructor(private readonly o: WorkersOptions) {
    const opts = (concurrency: number) => ({
      connection: o.connection,
      prefix: o.prefix,
      concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: o.maxStalledCount,
      autorun: false,
    });
    this.workers = [
      new Worker(QUEUES.lifecycle, (job: Job<DeskplaneJob>, token?: string) => this.dispatch(QUEUES.lifecycle, job, token), opts(o.concurrency.lifecycle)),
      new Worker(QUEUES.migration, (job: Job<DeskplaneJob>, token?: string) => this.dispatch(QUEUES.migration, job, token), opts(o.concurrency.migration)),
    ];
    for (const w of this.workers) {
      w.on('error', (e) => o.log.error({ err: errorMessage(e), queue: w.name }, 'worker error'));
      w.on('stalled', (jobId) => o.log.warn({ jobId, queue: w.name }, 'job stalled (its worker died); running it again'));
    }
  }

  start(): void {
    for (const w of this.workers) void w.run().catch((e: unknown) => this.o.log.error({ err: errorMessage(e), queue: w.name }, 'worker stopped'));
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  get running(): boolean {
    return this.workers.every((w) => w.isRunning());
  }

  /** Stops taking jobs; jobs in flight finish (their lock keeps them ours until then). */
  async close(force = false): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close(force)));
  }

  private async dispatch(queue: QueueName, job: Job<DeskplaneJob>, token?: string): Promise<Outcome> {
    const ctx: JobContext = { log: this.o.log.child(jobLogFields(queue, job)), jobId: job.id ?? '' };
    const processor = PROCESSORS[job.data.action] as Processor | undefined;
    const started = Date.now();
    const observe = (result: string) => {
      const labels = { queue, action: job.data.action, result };
      this.o.metrics?.jobs.inc(labels);
      this.o.metrics?.jobDuration.observe(labels, (Date.now() - started) / 1000);
    };
    if (!processor) {
      observe('failed');
      throw new UnrecoverableError(`no processor for action "${String(job.data.action)}"`);
    }
    ctx.log.info({ attempt: job.attemptsMade + 1 }, 'job started');
    try {
      const outcome = await processor.run(job.data, this.o.deps, ctx);
      observe(outcome.result === 'skipped' ? 'skipped' : 'completed');
      ctx.log.info({ outcome, durationMs: Date.now() - started }, 'job completed');
      return outcome;
    } catch (err) {
      if (err instanceof SlotUnavailableError) {
        observe('delayed');
        await job.moveToDelayed(Date.now() + err.retryAfterMs + Math.floor(Math.random() * 500), token);
        throw new DelayedError();
      }
      const final = isFinalAttempt(err, job.attemptsMade, job.opts.attempts);
      observe(final ? 'failed' : 'retry');
      ctx.log[final ? 'error' : 'warn']({ err: errorMessage(err), code: (err as { code?: unknown }).code, final, attempt: job.attemptsMade + 1 }, final ? 'job failed' : 'job attempt failed; retrying');
      if (final && processor.failed) {
        await processor.failed(job.data, err, this.o.deps, ctx).catch((e: unknown) => ctx.log.error({ err: errorMessage(e) }, 'could not record the failure in status'));
      }
      if (!isRetryable(err)) throw new UnrecoverableError(errorMessage(err));
      throw err;
    }
  }
}
