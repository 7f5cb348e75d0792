import { status } from '@grpc/grpc-js';

/**
 * The host agent's error taxonomy. Driver and service code throw these; the gRPC layer
 * turns each into its status code with the message unchanged, so the message must be
 * something a person can act on ("golden image 'win11' is not on host-1; known: a, b").
 */
export abstract class HostAgentError extends Error {
  abstract readonly grpcCode: status;
  /** Stable machine-readable code, e.g. GUEST_NOT_FOUND. */
  abstract readonly code: string;
  /** Whether the same call may succeed when retried unchanged. */
  readonly retryable: boolean = false;
}

/** Thrown when the guest (or another named thing) does not exist on this host. */
export class NotFoundError extends HostAgentError {
  override readonly name = 'NotFoundError';
  readonly grpcCode = status.NOT_FOUND;
  constructor(message: string, readonly code = 'NOT_FOUND') {
    super(message);
  }
}

/** Thrown when a name is taken by something Deskplane does not manage (a foreign domain). */
export class AlreadyExistsError extends HostAgentError {
  override readonly name = 'AlreadyExistsError';
  readonly grpcCode = status.ALREADY_EXISTS;
  constructor(message: string, readonly code = 'ALREADY_EXISTS') {
    super(message);
  }
}

/** Thrown when the request is malformed regardless of the host's state (zero memory, bad uid). */
export class InvalidArgumentError extends HostAgentError {
  override readonly name = 'InvalidArgumentError';
  readonly grpcCode = status.INVALID_ARGUMENT;
  constructor(message: string, readonly code = 'INVALID_ARGUMENT') {
    super(message);
  }
}

/** Thrown when the host is not in a state that allows the call (unknown golden image, no migration running). */
export class FailedPreconditionError extends HostAgentError {
  override readonly name = 'FailedPreconditionError';
  readonly grpcCode = status.FAILED_PRECONDITION;
  constructor(message: string, readonly code = 'FAILED_PRECONDITION') {
    super(message);
  }
}

/** Thrown when the host lacks memory, vCPUs or disk for the request. */
export class ResourceExhaustedError extends HostAgentError {
  override readonly name = 'ResourceExhaustedError';
  readonly grpcCode = status.RESOURCE_EXHAUSTED;
  constructor(message: string, readonly code = 'RESOURCE_EXHAUSTED') {
    super(message);
  }
}

/** Thrown when a conflicting operation is in progress (a second migration of one guest). */
export class AbortedError extends HostAgentError {
  override readonly name = 'AbortedError';
  readonly grpcCode = status.ABORTED;
  override readonly retryable = true;
  constructor(message: string, readonly code = 'ABORTED') {
    super(message);
  }
}

/** Thrown when events the caller asked to resume from are no longer retained. */
export class OutOfRangeError extends HostAgentError {
  override readonly name = 'OutOfRangeError';
  readonly grpcCode = status.OUT_OF_RANGE;
  constructor(message: string, readonly code = 'OUT_OF_RANGE') {
    super(message);
  }
}

/** Thrown when libvirtd cannot be reached or a libvirt call times out. */
export class UnavailableError extends HostAgentError {
  override readonly name = 'UnavailableError';
  readonly grpcCode = status.UNAVAILABLE;
  override readonly retryable = true;
  constructor(message: string, readonly code = 'LIBVIRT_UNAVAILABLE') {
    super(message);
  }
}

/** Thrown when libvirt fails in a way none of the above describes. */
export class InternalError extends HostAgentError {
  override readonly name = 'InternalError';
  readonly grpcCode = status.INTERNAL;
  constructor(message: string, readonly code = 'LIBVIRT_ERROR') {
    super(message);
  }
}
