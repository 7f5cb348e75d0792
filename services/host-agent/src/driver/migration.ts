import { AbortedError, FailedPreconditionError } from '../errors';
import { parseJobInfo, toMiBps, type JobInfo } from './jobinfo';
import type { DriverConfig, MigrationOptions, MigrationPhase, MigrationStats } from './types';
import { Virsh } from './virsh';
import { libvirtMessage } from './virsh-errors';

type Log = NonNullable<DriverConfig['log']>;

export const PROGRESS_INTERVAL_MS = 500;
/** libvirt takes MiB/s; "unlimited" is a very large cap (QEMU treats 0 as its default, 32 MiB/s on old versions). */
export const UNLIMITED_MIBPS = 8_388_608;
const POLL_TIMEOUT_MS = 5_000;

/** `virsh migrate …` arguments for a live peer-to-peer migration. Pure. */
export function migrateArgs(domainName: string, opts: MigrationOptions, assumeSharedStorage: boolean): string[] {
  const args = ['migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--verbose'];
  if (assumeSharedStorage) args.push('--unsafe');
  if (opts.autoConverge) args.push('--auto-converge');
  if (opts.postCopy) args.push('--postcopy');
  if (opts.bandwidthMiBps > 0) args.push('--bandwidth', String(opts.bandwidthMiBps));
  if (opts.graphicsUri) args.push('--graphicsuri', opts.graphicsUri);
  args.push(domainName, opts.destinationUri, '--migrateuri', `tcp://${opts.destinationAddress}`);
  return args;
}

/** Job numbers → the contract's stats. */
export function statsFrom(phase: MigrationPhase, job: JobInfo | undefined, elapsedMs: number): MigrationStats {
  return {
    phase,
    bytesProcessed: job?.dataProcessed ?? 0n,
    bytesRemaining: job?.dataRemaining ?? 0n,
    bytesTotal: job?.dataTotal ?? 0n,
    bandwidthMiBps: job ? toMiBps(job.memoryBps) : 0,
    elapsedMs: job?.elapsedMs || elapsedMs,
  };
}

interface Run {
  domainName: string;
  phase: MigrationPhase;
  lastJob?: JobInfo;
  startedAt: number;
  abortReason?: string;
  done: Promise<MigrationStats>;
}

/**
 * The migrations running from this host: one per guest. Each is a `virsh migrate` child
 * (it blocks until the job ends) plus a domjobinfo poll for progress, post-copy switch-over
 * and the completion timeout.
 */
export class Migrations {
  private readonly runs = new Map<string, Run>();

  constructor(
    private readonly virsh: Virsh,
    private readonly assumeSharedStorage: boolean,
    private readonly log: Log,
  ) {}

  isRunning(desktopUid: string): boolean {
    return this.runs.has(desktopUid);
  }

  migrate(desktopUid: string, domainName: string, opts: MigrationOptions, onProgress: (s: MigrationStats) => void): Promise<MigrationStats> {
    if (this.runs.has(desktopUid)) {
      throw new AbortedError(`guest ${domainName} is already migrating from ${this.virsh.uri}; abort it or wait for it to end`, 'MIGRATION_IN_PROGRESS');
    }
    const run: Run = { domainName, phase: 'starting', startedAt: Date.now(), done: Promise.resolve(undefined as never) };
    run.done = this.execute(run, opts, onProgress).finally(() => this.runs.delete(desktopUid));
    this.runs.set(desktopUid, run);
    return run.done;
  }

  async setBandwidth(desktopUid: string, bandwidthMiBps: number): Promise<MigrationStats> {
    const run = this.runningOrThrow(desktopUid);
    const mibps = bandwidthMiBps > 0 ? bandwidthMiBps : UNLIMITED_MIBPS;
    await this.virsh.run(['migrate-setspeed', run.domainName, '--bandwidth', String(mibps)], { subject: `guest ${run.domainName}` });
    await this.poll(run);
    return statsFrom(run.phase, run.lastJob, Date.now() - run.startedAt);
  }

  /** domjobabort; resolves once the migrate call has ended (the guest runs on here again). */
  async abort(desktopUid: string, reason = 'aborted on request'): Promise<boolean> {
    const run = this.runs.get(desktopUid);
    if (!run) return false;
    run.abortReason = reason;
    let ended = false;
    void run.done.finally(() => (ended = true));
    // Right after `virsh migrate` starts there may be no job to abort yet: retry briefly.
    for (let attempt = 0; attempt < 20 && !ended; attempt++) {
      const ok = await this.virsh.run(['domjobabort', run.domainName], { subject: `guest ${run.domainName}` }).then(
        () => true,
        (err: Error) => {
          this.log('debug', 'domjobabort failed (no job yet, or it just ended)', { domain: run.domainName, err: err.message });
          return false;
        },
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await withTimeout(run.done, 60_000).catch(() => undefined);
    return true;
  }

  async abortAll(): Promise<void> {
    await Promise.all([...this.runs.keys()].map((uid) => this.abort(uid, 'host agent shutting down')));
  }

  private runningOrThrow(desktopUid: string): Run {
    const run = this.runs.get(desktopUid);
    if (!run) throw new FailedPreconditionError(`no migration of guest dp-${desktopUid} runs from ${this.virsh.uri}`, 'NO_MIGRATION');
    return run;
  }

  private async poll(run: Run): Promise<void> {
    const out = await this.virsh.run(['domjobinfo', '--rawstats', run.domainName], { timeoutMs: POLL_TIMEOUT_MS }).catch(() => undefined);
    const job = out === undefined ? undefined : parseJobInfo(out);
    if (job && job.type !== 'none') {
      run.lastJob = job;
      // Until QEMU has sized the transfer, the job shows zeros: still starting.
      if (run.phase === 'starting' && job.dataTotal > 0n) run.phase = 'migrating';
    }
  }

  private execute(run: Run, opts: MigrationOptions, onProgress: (s: MigrationStats) => void): Promise<MigrationStats> {
    const args = migrateArgs(run.domainName, opts, this.assumeSharedStorage);
    const report = (): void => {
      try {
        onProgress(statsFrom(run.phase, run.lastJob, Date.now() - run.startedAt));
      } catch (err) {
        this.log('error', 'migration progress callback threw', { err: (err as Error).message });
      }
    };
    return new Promise<MigrationStats>((resolve) => {
      const t0 = performance.now();
      const child = this.virsh.spawn(args);
      let stderr = '';
      let ended = false;
      let tunedDowntime = false;
      let pollTimer: NodeJS.Timeout | undefined;
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (c: string) => {
        stderr = (stderr + c).slice(-8000);
      });
      child.stdout?.resume();
      this.log('info', 'migration started', { domain: run.domainName, to: opts.destinationUri });
      report();

      const tick = async (): Promise<void> => {
        await this.poll(run);
        if (ended) return;
        const elapsedS = (Date.now() - run.startedAt) / 1000;
        if (run.lastJob && !tunedDowntime && opts.maxDowntimeMs > 0) {
          tunedDowntime = true;
          await this.virsh.run(['migrate-setmaxdowntime', run.domainName, String(opts.maxDowntimeMs)]).catch((err: Error) => {
            this.log('warn', 'migrate-setmaxdowntime failed', { domain: run.domainName, err: err.message });
          });
        }
        if (opts.postCopy && run.phase === 'migrating' && elapsedS >= opts.postCopyAfterSeconds) {
          await this.virsh.run(['migrate-postcopy', run.domainName]).then(
            () => void (run.phase = 'post_copy'),
            (err: Error) => this.log('warn', 'migrate-postcopy failed', { domain: run.domainName, err: err.message }),
          );
        }
        if (opts.completionTimeoutSeconds > 0 && elapsedS >= opts.completionTimeoutSeconds && run.phase !== 'post_copy' && !run.abortReason) {
          run.abortReason = `did not complete within ${opts.completionTimeoutSeconds} s`;
          await this.virsh.run(['domjobabort', run.domainName]).catch(() => undefined);
        }
        if (!ended) report();
      };
      const schedule = (): void => {
        pollTimer = setTimeout(() => {
          void tick().finally(() => {
            if (!ended) schedule();
          });
        }, PROGRESS_INTERVAL_MS);
      };
      schedule();

      child.on('error', (err) => {
        stderr += `\n${err.message}`;
      });
      child.on('close', (code) => {
        ended = true;
        if (pollTimer) clearTimeout(pollTimer);
        this.virsh.record('migrate', performance.now() - t0);
        const elapsed = Date.now() - run.startedAt;
        if (code === 0) {
          run.phase = 'succeeded';
          void this.completedJob(opts.destinationUri, run.domainName).then((job) => {
            const base = job ?? run.lastJob;
            const stats = statsFrom('succeeded', base, elapsed);
            stats.bytesRemaining = 0n;
            if (job?.downtimeMs !== undefined) stats.downtimeMs = job.downtimeMs;
            this.log('info', 'migration succeeded', { domain: run.domainName, elapsedMs: stats.elapsedMs, downtimeMs: stats.downtimeMs });
            resolve(stats);
          });
          return;
        }
        const message = libvirtMessage(stderr.replace(/Migration: \[[^\]]*\]/g, ''));
        const aborted = run.abortReason !== undefined || /canceled by client|operation aborted/i.test(stderr);
        run.phase = aborted ? 'aborted' : 'failed';
        const stats = statsFrom(run.phase, run.lastJob, elapsed);
        stats.message = run.abortReason ? `${run.abortReason}: ${message}` : message;
        this.log(aborted ? 'info' : 'warn', `migration ${run.phase}`, { domain: run.domainName, message: stats.message });
        resolve(stats);
      });
    });
  }

  /** The destination's record of the finished job (downtime); undefined when unreachable. */
  private async completedJob(destinationUri: string, domainName: string): Promise<JobInfo | undefined> {
    const dest = new Virsh(destinationUri, POLL_TIMEOUT_MS);
    const out = await dest.run(['domjobinfo', '--completed', '--rawstats', domainName]).catch(() => undefined);
    const job = out === undefined ? undefined : parseJobInfo(out);
    return job && job.type === 'completed' ? job : undefined;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
