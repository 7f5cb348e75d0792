/**
 * Errors of @deskplane/api. Each has a stable `code` and says whether retrying can help
 * (it never can here: both are about the shape of data or of a schema).
 */

/** Base class: structured fields, a stable code, never retryable. */
export abstract class ApiPackageError extends Error {
  abstract readonly code: string;
  readonly retryable = false;
}

/** One problem found in an object, with the field path Kubernetes would report. */
export interface ValidationIssue {
  /** Field path such as `spec.runStrategy` or `spec.claimants.users[2]`; `` for the object itself. */
  path: string;
  message: string;
}

/**
 * Thrown when an object does not satisfy its kind's schema or CEL rules (by `assertValid`
 * and by the embedded backend, where no apiserver validates). Kubernetes answers the same
 * object with a 422 Invalid.
 */
export class InvalidResourceError extends ApiPackageError {
  readonly code = 'DESKPLANE_INVALID_RESOURCE';
  constructor(
    readonly kind: string,
    readonly objectName: string | undefined,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(`${kind} ${JSON.stringify(objectName ?? '')} is invalid: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'InvalidResourceError';
  }
}

/**
 * Thrown when a TypeBox schema uses something a Kubernetes structural schema cannot
 * express (a `$ref`, a union of objects, `uniqueItems`, ...). A programming error in a
 * kind definition, found by CRD generation and by the unit tests.
 */
export class SchemaConversionError extends ApiPackageError {
  readonly code = 'DESKPLANE_SCHEMA_NOT_STRUCTURAL';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`schema at ${path || '<root>'}: ${reason}`);
    this.name = 'SchemaConversionError';
  }
}

/** Thrown when an object's `kind` is not one of the Deskplane kinds. */
export class UnknownKindError extends ApiPackageError {
  readonly code = 'DESKPLANE_UNKNOWN_KIND';
  constructor(readonly kind: unknown) {
    super(`unknown kind ${JSON.stringify(kind)} (expected one of the deskplane.io/v1alpha1 kinds)`);
    this.name = 'UnknownKindError';
  }
}
