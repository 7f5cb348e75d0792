import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import pino, { type DestinationStream, type Logger } from 'pino';
import { collectDefaultMetrics, Counter, Histogram, type Registry } from 'prom-client';
import { callerOf } from './caller-store';

export type { Logger } from 'pino';

/**
 * Fields that must never reach a log line: credentials in headers and bodies, console
 * tickets. A second guard behind never handing them to the logger.
 */
export const REDACT_PATHS = [
  'authorization',
  'password',
  'ticket',
  'refreshToken',
  'accessToken',
  '*.authorization',
  '*.password',
  '*.ticket',
  '*.refreshToken',
  '*.accessToken',
  '*.*.authorization',
  '*.*.password',
  '*.*.ticket',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

/** JSON logs, one object per line, ISO times, level as a word. */
export function createApiLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'api' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** Nest's own messages (bootstrap, route mapping) through pino; its chatty "log" level becomes debug. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}
  log(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.pino.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.pino.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.pino.trace({ context }, String(message));
  }
}

/** An incoming x-request-id is kept when it is a sane token, so ids follow a call across services. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(v) ? v : randomUUID();
}

export class HttpMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly logins: Counter<'outcome'>;

  constructor(readonly registry: Registry) {
    collectDefaultMetrics({ register: registry });
    this.requests = new Counter({ name: 'deskplane_api_http_requests_total', help: 'HTTP requests answered, by route template and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
    this.duration = new Histogram({
      name: 'deskplane_api_http_request_duration_seconds',
      help: 'Time from request to response, by route template',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.logins = new Counter({ name: 'deskplane_api_logins_total', help: 'Built-in identity provider logins, by outcome', labelNames: ['outcome'], registers: [registry] });
  }
}

/**
 * Request ids on every response, one log line and one metric sample per request. The route
 * label is the template (`/desktops/:name`), never the raw URL, so label sets stay bounded;
 * requests no route matched share "unmatched".
 */
export function installRequestHooks(server: FastifyInstance, log: Logger, metrics: HttpMetrics): void {
  server.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  server.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, seconds);
    const caller = callerOf(request);
    const line = {
      event: 'http.request',
      requestId: request.id,
      method: request.method,
      route,
      // The query is left out: it is where a careless client would put a credential.
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ip: request.ip,
      ...(caller && { user: caller.user, tenant: caller.tenant }),
    };
    if (reply.statusCode >= 500) log.error(line, 'http.request');
    else log.info(line, 'http.request');
    done();
  });
}
