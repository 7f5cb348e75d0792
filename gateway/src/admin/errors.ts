import { status } from '@grpc/grpc-js';

/**
 * Errors the admin API sends with their own gRPC code and message. Anything else thrown
 * by a handler goes out as INTERNAL with a request id only (its detail stays in the log),
 * so the message of these must be safe to show and something a person can act on.
 */
export abstract class AdminError extends Error {
  abstract readonly grpcCode: status;
  /** Stable machine-readable code. */
  abstract readonly code: string;
}

/** Thrown when a request field is malformed; the message names the field. */
export class InvalidArgumentError extends AdminError {
  override readonly name = 'InvalidArgumentError';
  readonly grpcCode = status.INVALID_ARGUMENT;
  readonly code = 'INVALID_ARGUMENT';
}

/** Thrown when the session (or other named thing) is not live on this replica. */
export class NotFoundError extends AdminError {
  override readonly name = 'NotFoundError';
  readonly grpcCode = status.NOT_FOUND;
  readonly code = 'NOT_FOUND';
}

/** Thrown when the gateway is not in a state that allows the call (no policy source, a migration already being prepared). */
export class FailedPreconditionError extends AdminError {
  override readonly name = 'FailedPreconditionError';
  readonly grpcCode = status.FAILED_PRECONDITION;
  readonly code = 'FAILED_PRECONDITION';
}

/** Thrown when something the call needs cannot be reached (the guest's SPICE server, the ticket store). */
export class UnavailableError extends AdminError {
  override readonly name = 'UnavailableError';
  readonly grpcCode = status.UNAVAILABLE;
  readonly code = 'UNAVAILABLE';
}

/** Thrown when this gateway was started without the part the call needs (migration control). */
export class UnimplementedError extends AdminError {
  override readonly name = 'UnimplementedError';
  readonly grpcCode = status.UNIMPLEMENTED;
  readonly code = 'UNIMPLEMENTED';
}
