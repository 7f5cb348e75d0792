import { randomBytes } from 'node:crypto';
import { WorkQueue } from './work-queue';

/** What a reconcile asks of the queue when it succeeds. */
export interface ReconcileResult {
  /** Poll again after this long (level-triggered: the key is reconciled from scratch). */
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  /** Unique per attempt; put it on every log line of the attempt. */
  reconcileId: string;
  /** Failed attempts before this one. */
  retries: number;
}

export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/**
 * Thrown by a reconciler when retrying cannot help (an invalid spec): the key is
 * forgotten instead of retried, and comes back only when something adds it again.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  readonly code: string = 'TERMINAL';
}

export type ReconcileOutcome = 'success' | 'requeue' | 'error' | 'terminal';

export interface ControllerHooks {
  /** Called once per attempt, for metrics and logs. */
  onReconciled?(e: { controller: string; key: string; outcome: ReconcileOutcome; durationMs: number; reconcileId: string; error?: unknown }): void;
}

/**
 * Runs `workers` loops over one WorkQueue. The queue owns done/forget/re-add; the
 * reconciler only returns or throws (controller-runtime's contract): throw → retry with
 * backoff, TerminalError → stop, requeueAfterMs → poll.
 */
export class Controller {
  readonly queue: WorkQueue;
  private running: Array<Promise<void>> = [];

  constructor(
    readonly name: string,
    private readonly reconcile: Reconcile,
    private readonly opts: { workers?: number; queue?: WorkQueue; hooks?: ControllerHooks } = {},
  ) {
    this.queue = opts.queue ?? new WorkQueue();
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    const workers = this.opts.workers ?? 2;
    for (let i = 0; i < workers; i++) this.running.push(this.worker());
  }

  /** Stops taking keys and waits for reconciles in progress to finish. */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const reconcileId = randomBytes(6).toString('hex');
    const started = performance.now();
    let outcome: ReconcileOutcome = 'success';
    let error: unknown;
    try {
      const result = await this.reconcile(key, { reconcileId, retries: this.queue.rateLimiter.retries(key) });
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        outcome = 'requeue';
        this.queue.addAfter(key, result.requeueAfterMs);
      }
    } catch (e) {
      error = e;
      if (e instanceof TerminalError) {
        outcome = 'terminal';
        this.queue.forget(key);
      } else {
        outcome = 'error';
        this.queue.addRateLimited(key);
      }
    } finally {
      this.queue.done(key);
    }
    this.opts.hooks?.onReconciled?.({ controller: this.name, key, outcome, durationMs: performance.now() - started, reconcileId, error });
  }
}
