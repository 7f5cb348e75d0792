/** Stable string codes of the errors the scheduler throws. */
export type SchedulerErrorCode = 'SCHEDULER_BAD_CONFIG' | 'SCHEDULER_BAD_INPUT';

/** Base class: every error here carries a stable `code` and says whether a retry can help. */
export abstract class SchedulerError extends Error {
  abstract readonly code: SchedulerErrorCode;
  /** False: retrying with the same input fails the same way. */
  abstract readonly retryable: boolean;
}

/**
 * Thrown when a `SchedulerConfig` cannot be used: a negative or non-finite weight, all
 * strategy weights zero, all resource weights zero, or a negative `maxGuestsPerHost`.
 */
export class SchedulerConfigError extends SchedulerError {
  readonly code = 'SCHEDULER_BAD_CONFIG';
  readonly retryable = false;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`scheduler config ${field}: ${message}`);
    this.name = 'SchedulerConfigError';
  }
}

/**
 * Thrown when the scheduler's input is malformed: two hosts with one name, or a desktop
 * asking for a negative or non-finite amount of a resource. A mapping bug in the caller,
 * not a scheduling outcome (those are `Unschedulable` results).
 */
export class SchedulerInputError extends SchedulerError {
  readonly code = 'SCHEDULER_BAD_INPUT';
  readonly retryable = false;
  constructor(
    readonly subject: string,
    message: string,
  ) {
    super(`${subject}: ${message}`);
    this.name = 'SchedulerInputError';
  }
}
