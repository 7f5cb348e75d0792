/**
 * The documented way to retry a failed desktop job: fix the cause, then
 *
 *   npx tsx --conditions=source services/orchestrator/src/cli.ts retry <namespace>/<desktop>
 *
 * It moves the desktop's failed jobs (provision, start, stop, deprovision) back to waiting
 * with fresh attempts; the same job id is kept, so the retry is still the same decision
 * and can never make a second guest. (Re-enqueueing from the operator cannot work: the
 * job id of that decision already exists, as failed, and BullMQ drops the duplicate.)
 * A failed DesktopMigration is not retried: its spec is immutable, delete it and create
 * a new one.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { QUEUES, type LifecycleJob } from '@deskplane/queue-contracts';

/** Pure: is this job about that desktop? */
export function jobIsFor(data: Pick<LifecycleJob, 'desktop'> | undefined, namespace: string, name: string): boolean {
  return data?.desktop?.namespace === namespace && data.desktop.name === name;
}

/** Retries the desktop's failed lifecycle jobs; returns their ids. */
export async function retryFailedJobs(connection: ConnectionOptions, prefix: string, namespace: string, name: string): Promise<string[]> {
  const queue = new Queue<LifecycleJob>(QUEUES.lifecycle, { connection, prefix });
  try {
    const failed = await queue.getFailed(0, -1);
    const mine = failed.filter((j) => jobIsFor(j.data, namespace, name));
    for (const j of mine) await j.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return mine.map((j) => j.id ?? '');
  } finally {
    await queue.close();
  }
}
