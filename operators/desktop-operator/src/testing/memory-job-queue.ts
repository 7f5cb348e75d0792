import type { JobQueue, JobRequest, QueueName } from '@deskplane/queue-contracts';

/**
 * In-memory JobQueue with BullMQ's id semantics (a second enqueue of an id is dropped),
 * for tests and for runs without workers. `complete(id)` / `fail(id)` play the worker.
 */
export class MemoryJobQueue implements JobQueue {
  readonly jobs = new Map<string, { req: JobRequest; state: string }>();

  enqueue(req: JobRequest): Promise<{ id: string; created: boolean }> {
    const k = `${req.queue}/${req.jobId}`;
    if (this.jobs.has(k)) return Promise.resolve({ id: req.jobId, created: false });
    this.jobs.set(k, { req, state: 'waiting' });
    return Promise.resolve({ id: req.jobId, created: true });
  }

  state(queue: QueueName, jobId: string): Promise<string | undefined> {
    return Promise.resolve(this.jobs.get(`${queue}/${jobId}`)?.state);
  }

  /** Jobs of one action, oldest first. */
  byAction(action: string): JobRequest[] {
    return [...this.jobs.values()].filter((j) => j.req.name === action).map((j) => j.req);
  }

  setState(queue: QueueName, jobId: string, state: 'completed' | 'failed' | 'active'): void {
    const j = this.jobs.get(`${queue}/${jobId}`);
    if (!j) throw new Error(`no job ${queue}/${jobId}`);
    j.state = state;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
