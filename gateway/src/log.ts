import pino, { type DestinationStream, type Logger } from 'pino';
import type { GatewayLog } from './link-server';

export type { Logger } from 'pino';

/**
 * Fields that must never reach a log line, at the depths the gateway logs them (a mint
 * request's upstream, a migration's destination). A second guard behind the rule that
 * tickets and passwords are never handed to the logger at all.
 */
export const REDACT_PATHS = [
  'password',
  'ticket',
  '*.password',
  '*.ticket',
  '*.*.password',
  '*.*.ticket',
  'upstream.password',
  'destination.password',
  'req.upstream.password',
  'req.destination.password',
];

/** JSON logs, one object per line, ISO times, level as a word. */
export function createLogger(opts: { level?: string; base?: Record<string, unknown> } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'gateway', ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** Refusals are what an operator looks for first; a failing handler is an error. */
function levelOf(event: string, fields: Record<string, unknown>): 'info' | 'warn' | 'error' {
  if (event === 'admin.call' && fields.code === 'INTERNAL') return 'error';
  if (event.endsWith('.refused')) return 'warn';
  return 'info';
}

/**
 * The gateway's `(event, fields)` log callback writing through pino: the event name is
 * both the message and an `event` field, so lines can be filtered by either.
 */
export function gatewayLog(log: Logger): GatewayLog {
  return (event, fields) => log[levelOf(event, fields)]({ event, ...fields }, event);
}
