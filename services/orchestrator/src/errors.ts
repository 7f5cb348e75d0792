/**
 * The orchestrator's error taxonomy. Processors throw these; the worker glue (worker.ts)
 * is the one place that turns them into BullMQ control flow: `retryable: false` →
 * UnrecoverableError (the job fails at once and the resource gets a Failed condition),
 * `retryable: true` → a normal throw (BullMQ retries with the job's exponential backoff),
 * SlotUnavailableError → the job goes back to the delayed set without using an attempt.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

export abstract class OrchestratorError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: string;
  /** Whether running the job again may succeed without anyone changing anything. */
  abstract readonly retryable: boolean;
  override get name(): string {
    return this.constructor.name;
  }
}

/** gRPC codes that mean "this request will fail the same way again": fail the job now. */
export const PERMANENT_GRPC_CODES: ReadonlySet<GrpcStatus> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.UNIMPLEMENTED,
  GrpcStatus.OUT_OF_RANGE,
]);

/**
 * Thrown when a host agent answers a call with an error status. Permanent for the codes in
 * PERMANENT_GRPC_CODES; everything else (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED,
 * INTERNAL, CANCELLED, UNKNOWN) is transient and retried.
 */
export class AgentCallError extends OrchestratorError {
  readonly code: string;
  readonly retryable: boolean;
  constructor(
    readonly host: string,
    readonly method: string,
    readonly grpcCode: GrpcStatus,
    readonly details: string,
  ) {
    super(`${method} on ${host}: ${GrpcStatus[grpcCode] ?? grpcCode}: ${details}`);
    this.code = `AGENT_${GrpcStatus[grpcCode] ?? 'UNKNOWN'}`;
    this.retryable = !PERMANENT_GRPC_CODES.has(grpcCode);
  }
}

/** Thrown when a job names a host with no KvmHost (or no agentEndpoint). Retried: hosts can be re-registered. */
export class HostNotFoundError extends OrchestratorError {
  readonly code = 'HOST_NOT_FOUND';
  readonly retryable = true;
  constructor(readonly host: string) {
    super(`KvmHost "${host}" not found or has no spec.agentEndpoint`);
  }
}

/** Thrown when a guest did not reach the wanted state in time (slow host): retried. */
export class GuestStateTimeoutError extends OrchestratorError {
  readonly code = 'GUEST_STATE_TIMEOUT';
  readonly retryable = true;
  constructor(
    readonly host: string,
    readonly want: string,
    readonly last: string,
    readonly waitedMs: number,
  ) {
    super(`guest on ${host} did not become ${want} within ${waitedMs} ms (last state ${last})`);
  }
}

/** Thrown when the guest crashed or was found in a state the step cannot continue from. */
export class GuestStateError extends OrchestratorError {
  readonly code = 'GUEST_STATE';
  readonly retryable = false;
}

/** Thrown when a live migration ends FAILED (or ABORTED by its completion timeout): the guest stays on the source. */
export class MigrationFailedError extends OrchestratorError {
  readonly code = 'MIGRATION_FAILED';
  readonly retryable = false;
}

/** Thrown when the job's object is missing what the step needs (e.g. the desktop of a migration is gone). */
export class InvalidJobError extends OrchestratorError {
  readonly code = 'INVALID_JOB';
  readonly retryable = false;
}

/** Thrown when the secret store refuses to store or read the console secret for a reason that will not change on retry. */
export class SecretStoreError extends OrchestratorError {
  readonly code = 'SECRET_STORE';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * Thrown (control flow, not a failure) when no migration slot is free on the source host
 * or in the cluster. The worker puts the job back in the delayed set for `retryAfterMs`.
 */
export class SlotUnavailableError extends OrchestratorError {
  readonly code = 'SLOT_UNAVAILABLE';
  readonly retryable = true;
  constructor(
    readonly sourceHost: string,
    readonly retryAfterMs: number,
  ) {
    super(`no migration slot free (source ${sourceHost}); retrying in ${retryAfterMs} ms`);
  }
}

/** True unless the error says it is permanent. Unknown errors (bugs, network) are retried. */
export function isRetryable(err: unknown): boolean {
  return err instanceof OrchestratorError ? err.retryable : true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
