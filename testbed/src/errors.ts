/**
 * Thrown when a real dependency the testbed manages is missing, not running or not
 * answering. The message names the part (e.g. "libvirtd of host-1") and what to do.
 */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  constructor(
    /** Which part, in words a person recognises: "Redis", "kube-apiserver", "libvirtd of host-1". */
    readonly part: string,
    detail: string,
  ) {
    super(`${part} is not available: ${detail}`);
  }
}

/** Thrown when a wait for a condition runs out of time. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  readonly code = 'WAIT_TIMEOUT';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly lastError?: unknown,
  ) {
    super(
      `timed out after ${timeoutMs} ms waiting for ${what}` +
        (lastError instanceof Error ? ` (last error: ${lastError.message})` : ''),
    );
  }
}

/** Thrown when a command the testbed runs exits non-zero. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  readonly code = 'COMMAND_FAILED';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().slice(-2000)}`);
  }
}
