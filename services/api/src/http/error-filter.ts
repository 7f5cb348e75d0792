import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ApiError, Conflict, TooManyRequests } from '../domain/errors';

/**
 * Every failure leaves as `{ error: { code, message, field?, quota?, reason?, requestId } }`: domain
 * ApiErrors with their status, Nest's and Fastify's own (unknown route, malformed JSON,
 * body too large) with theirs, anything else as a 500 whose detail stays in the log.
 */

export interface ErrorBodyShape {
  error: { code: string; message: string; field?: string; quota?: string; reason?: string; requestId: string };
}

const CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  500: 'Internal',
  503: 'Unavailable',
};

export function codeForStatus(status: number): string {
  return CODES[status] ?? (status >= 500 ? 'Internal' : 'BadRequest');
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorBodyShape;
}

export function toErrorResponse(err: unknown, requestId: string, method = '', url = ''): ErrorResponse {
  const headers: Record<string, string> = {};
  if (err instanceof ApiError) {
    if (err instanceof TooManyRequests) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
    if (err.status === 401) headers['www-authenticate'] = 'Bearer realm="deskplane-api"';
    const quota = err instanceof Conflict ? err.quota : undefined;
    const reason = err instanceof Conflict ? err.reason : undefined;
    return {
      status: err.status,
      headers,
      body: { error: { code: err.code, message: err.message, ...(err.field !== undefined && { field: err.field }), ...(quota !== undefined && { quota }), ...(reason !== undefined && { reason }), requestId } },
    };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const message = status === 404 ? `no route ${method} ${url.split('?')[0]}` : err.message;
    return { status, headers, body: { error: { code: codeForStatus(status), message, requestId } } };
  }
  // Fastify's own client errors (FST_ERR_CTP_INVALID_JSON, body limit, media type) carry a 4xx statusCode.
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, headers, body: { error: { code: codeForStatus(status), message: (err as Error).message, requestId } } };
  }
  return { status: 500, headers, body: { error: { code: 'Internal', message: `internal error; the log has the detail under request id ${requestId}`, requestId } } };
}

@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { status, headers, body } = toErrorResponse(err, request.id, request.method, request.url);
    if (status >= 500) this.log.error({ err, requestId: request.id, event: 'http.error' }, 'request failed');
    if (reply.sent) return;
    reply.status(status).headers(headers).type('application/json; charset=utf-8').send(body);
  }
}
