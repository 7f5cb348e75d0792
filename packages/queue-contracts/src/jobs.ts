/**
 * The contract between the operator (which decides) and the orchestrator's workers
 * (which act on hosts). Job data carries references and decisions, never secrets: a
 * worker reads the SPICE password from the secret store itself.
 */

/** Queue names; one queue per kind of work so concurrency can be limited per kind. */
export const QUEUES = {
  lifecycle: 'deskplane-lifecycle',
  migration: 'deskplane-migration',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface ObjectRef {
  namespace: string;
  name: string;
  uid: string;
  /** metadata.generation the decision was made for. */
  generation: number;
}

export interface ProvisionDesktopJob {
  action: 'provision';
  desktop: ObjectRef;
  host: string;
  template: { name: string; goldenImage: string; vcpus: number; memoryBytes: string; diskBytes: string; imageCompression: string; streamingMode: string };
  runStrategy: 'Always' | 'Halted' | 'Manual';
}

export interface DeprovisionDesktopJob {
  action: 'deprovision';
  desktop: ObjectRef;
  /** The host that has (or may have) the guest; absent when it was never placed. */
  host?: string;
}

export interface SetPowerJob {
  action: 'start' | 'stop';
  desktop: ObjectRef;
  host: string;
}

export interface MigrateDesktopJob {
  action: 'migrate';
  migration: ObjectRef;
  desktop: ObjectRef;
  sourceHost: string;
  targetHost: string;
  policy: { bandwidthMiBps?: number; autoConverge?: boolean; postCopy?: boolean; completionTimeoutSeconds?: number };
}

export type LifecycleJob = ProvisionDesktopJob | DeprovisionDesktopJob | SetPowerJob;
export type DeskplaneJob = LifecycleJob | MigrateDesktopJob;

export interface JobRequest<J extends DeskplaneJob = DeskplaneJob> {
  queue: QueueName;
  /** Deterministic: the same decision always yields the same id, so BullMQ drops a replay. */
  jobId: string;
  name: J['action'];
  data: J;
}

/**
 * `<action>.<uid>.g<generation>` — BullMQ refuses most ids with ':' in them, and a uid
 * plus generation names one decision about one object exactly once.
 */
export function jobIdFor(action: DeskplaneJob['action'], ref: Pick<ObjectRef, 'uid' | 'generation'>): string {
  if (!/^[0-9a-f-]{8,64}$/i.test(ref.uid)) throw new Error(`job id needs an object uid, got "${ref.uid}"`);
  if (!Number.isInteger(ref.generation) || ref.generation < 1) throw new Error(`job id needs a generation >= 1, got ${ref.generation}`);
  return `${action}.${ref.uid}.g${ref.generation}`;
}

export function lifecycleJob<J extends LifecycleJob>(job: J): JobRequest<J> {
  return { queue: QUEUES.lifecycle, jobId: jobIdFor(job.action, job.desktop), name: job.action, data: job };
}

export function migrationJob(job: MigrateDesktopJob): JobRequest<MigrateDesktopJob> {
  return { queue: QUEUES.migration, jobId: jobIdFor('migrate', job.migration), name: 'migrate', data: job };
}
