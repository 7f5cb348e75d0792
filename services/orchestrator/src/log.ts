import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs, one object per line. Every line of a job carries `jobId`, `queue`, `action`
 * and `desktop` (namespace/name). Any `password` field anywhere is redacted: the console
 * password must never reach a log.
 */
export const REDACT_PATHS = ['password', '*.password', '*.*.password', 'spice.password', '*.spice.password', 'spec.spice.password', '*.spec.spice.password', 'data.password', '*.data.password'];

export function createLogger(opts: { level?: string; base?: Record<string, unknown> } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'orchestrator', ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
