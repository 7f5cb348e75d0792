/** Job counts of the work queues between the operator and the orchestrator (BullMQ). */
import { Queue, type ConnectionOptions } from 'bullmq';
import { QUEUES } from '@deskplane/queue-contracts';

/** The states ops care about; BullMQ's own names. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
export type JobStateName = (typeof JOB_STATES)[number];

export interface QueueCounts {
  queue: string;
  paused: boolean;
  counts: Record<JobStateName, number>;
}

export interface QueueStats {
  counts(): Promise<QueueCounts[]>;
  close(): Promise<void>;
}

export interface BullQueueStatsOptions {
  connection: ConnectionOptions;
  /** The BullMQ key prefix of this installation (the operator's and orchestrator's QUEUE_PREFIX). Default `deskplane`. */
  prefix?: string;
  /** Default: every queue in @deskplane/queue-contracts QUEUES. */
  queues?: readonly string[];
}

export class BullQueueStats implements QueueStats {
  private readonly queues: Queue[];

  constructor(opts: BullQueueStatsOptions) {
    const names = opts.queues ?? Object.values(QUEUES);
    this.queues = names.map((name) => new Queue(name, { connection: opts.connection, prefix: opts.prefix ?? 'deskplane' }));
  }

  counts(): Promise<QueueCounts[]> {
    return Promise.all(
      this.queues.map(async (q) => {
        const [raw, paused] = await Promise.all([q.getJobCounts(...JOB_STATES), q.isPaused()]);
        const counts = Object.fromEntries(JOB_STATES.map((s) => [s, raw[s] ?? 0])) as Record<JobStateName, number>;
        return { queue: q.name, paused, counts };
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
