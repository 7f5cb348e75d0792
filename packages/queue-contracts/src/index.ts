/**
 * Queue contracts between the operator and the orchestrator.
 *
 * @example
 * import { BullJobQueue, lifecycleJob } from '@deskplane/queue-contracts';
 * const jobs = new BullJobQueue({ host: '127.0.0.1', port: 6379 });
 * await jobs.enqueue(lifecycleJob({ action: 'deprovision', desktop: { namespace: 'a', name: 'vd', uid, generation: 1 } }));
 */
export * from './jobs';
export * from './job-queue';
