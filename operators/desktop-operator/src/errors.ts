/**
 * The operator's error taxonomy. Each class has a stable `code` and says whether retrying
 * can help; reconcilers throw `TerminalError` (runtime/controller.ts) to stop retries.
 */

export abstract class OperatorError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
}

/** Thrown at start when a setting is unusable; the message names the variable. Not retryable. */
export class OperatorConfigError extends OperatorError {
  override readonly name = 'OperatorConfigError';
  readonly code = 'OPERATOR_BAD_CONFIG';
  readonly retryable = false;
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

/**
 * Thrown by a HostAgentProbe when the agent did not answer GetHostInfo in time or answered
 * with an error. Retryable: the next heartbeat tries again.
 */
export class AgentUnreachableError extends OperatorError {
  override readonly name = 'AgentUnreachableError';
  readonly code = 'AGENT_UNREACHABLE';
  readonly retryable = true;
  constructor(
    readonly endpoint: string,
    message: string,
    /** The gRPC status code when there was one. */
    readonly grpcCode?: number,
  ) {
    super(`agent ${endpoint}: ${message}`);
  }
}
