import { Queue, type ConnectionOptions } from 'bullmq';
import type { JobRequest, QueueName } from './jobs';

/** Where decisions go. The operator depends on this, never on Redis. */
export interface JobQueue {
  /** Adds the job unless one with its id exists; `created` says which. */
  enqueue(req: JobRequest): Promise<{ id: string; created: boolean }>;
  /** State of a job by id: waiting, active, completed, failed, … or undefined. */
  state(queue: QueueName, jobId: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Retries for transient failures; workers throw UnrecoverableError for permanent ones. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

export class BullJobQueue implements JobQueue {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix = 'deskplane',
  ) {}

  private queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new Queue(name, { connection: this.connection, prefix: this.prefix })));
    return q;
  }

  async enqueue(req: JobRequest): Promise<{ id: string; created: boolean }> {
    const q = this.queue(req.queue);
    const existing = await q.getJob(req.jobId);
    if (existing) return { id: req.jobId, created: false };
    await q.add(req.name, req.data, { ...DEFAULT_JOB_OPTIONS, jobId: req.jobId });
    return { id: req.jobId, created: true };
  }

  async state(queue: QueueName, jobId: string): Promise<string | undefined> {
    const s = await this.queue(queue).getJobState(jobId);
    return s === 'unknown' ? undefined : s;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
