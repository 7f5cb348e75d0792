import { randomUUID } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs, one object per line. Any field called `password` (at any of the depths we
 * log) is replaced by "[redacted]" — a second guard behind the rule that passwords are
 * never passed to the logger at all.
 */
export function createLogger(opts: { level?: string; base?: Record<string, unknown> } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'host-agent', ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: label => ({ level: label }) },
      redact: {
        paths: ['password', '*.password', '*.*.password', '*.*.*.password', 'spec.spice.password', 'req.spec.spice.password'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` when it is sane, else a fresh one. */
export function requestIdFrom(metadata: Metadata | undefined): string {
  const given = metadata?.get('x-request-id')[0];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The driver's log callback, writing through the agent's logger. */
export function driverLog(log: Logger): (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void {
  const child = log.child({ component: 'driver' });
  return (level, msg, fields) => child[level](fields ?? {}, msg);
}
