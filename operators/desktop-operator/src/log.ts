import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs, one object per line. Reconcilers get a child logger carrying `controller`,
 * `key` and `reconcileId`, so every line of one attempt can be found by its id.
 */
export function createLogger(opts: { level?: string; base?: Record<string, unknown> } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'desktop-operator', ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
