/** Base of the store's errors; `code` is stable, `status` is the HTTP status Kubernetes uses. */
export abstract class StoreError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
}

/** Thrown when the object does not exist. */
export class NotFoundError extends StoreError {
  override readonly name = 'NotFoundError';
  readonly code = 'NotFound';
  readonly status = 404;
}

/** Thrown by create when the name is taken. */
export class AlreadyExistsError extends StoreError {
  override readonly name = 'AlreadyExistsError';
  readonly code = 'AlreadyExists';
  readonly status = 409;
}

/** Thrown when a write carries a stale resourceVersion: re-read, re-apply the change, retry. */
export class ConflictError extends StoreError {
  override readonly name = 'ConflictError';
  readonly code = 'Conflict';
  readonly status = 409;
}

/** Ends a watch whose resourceVersion is older than the store keeps: list again. */
export class GoneError extends StoreError {
  override readonly name = 'GoneError';
  readonly code = 'Expired';
  readonly status = 410;
}

/** Thrown when the object fails schema validation; the message lists each field's problem. */
export class InvalidError extends StoreError {
  override readonly name = 'InvalidError';
  readonly code = 'Invalid';
  readonly status = 422;
}
