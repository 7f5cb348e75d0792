import { Kind, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ResponseDecl, RouteInfo, RouteSpec } from './route';
import { responseMismatch } from './validation';

/** A response with a status other than the success one; the status must be declared in `response`. */
export class Responded {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}
export function respond(status: number, body?: unknown): Responded {
  return new Responded(status, body);
}

/** Returned by a handler that took the reply over (`ctx.hijack()`): nothing more is sent. */
export class Hijacked {
  readonly hijacked = true;
}

export function successStatus(spec: RouteSpec): number {
  const ok = Object.keys(spec.response).map(Number).filter((s) => s >= 200 && s < 300);
  if (ok.length !== 1) throw new Error(`route ${spec.method} ${spec.path}: response must declare exactly one 2xx status, found ${ok.length}`);
  return ok[0]!;
}

/** Per-app settings the shared route mechanism reads from the reply's server. */
export interface SendSettings {
  validateResponses: boolean;
}
const settings = new WeakMap<FastifyInstance, SendSettings>();

export function setSendSettings(server: FastifyInstance, s: SendSettings): void {
  settings.set(server, s);
}

export function normalizeResponse(decl: ResponseDecl | undefined): { schema: TSchema | null; contentType: string; description?: string } {
  if (decl === null || decl === undefined) return { schema: null, contentType: 'application/json' };
  // Every TypeBox schema carries its Kind symbol; a ResponseSpec is a plain object.
  if (Kind in decl) return { schema: decl, contentType: 'application/json' };
  return { schema: decl.schema, contentType: decl.contentType ?? 'application/json', ...(decl.description !== undefined && { description: decl.description }) };
}

/** Thrown when a handler answers something its route did not declare: a bug, answered 500. */
export class UndeclaredResponseError extends Error {
  override readonly name = 'UndeclaredResponseError';
}

/**
 * Sends a handler's result with the status its route declares. Does nothing for a handler
 * that took the reply over (streams).
 */
export function sendResult(info: RouteInfo, reply: FastifyReply, result: unknown): void {
  if (result instanceof Hijacked) return;
  if (reply.sent) throw new UndeclaredResponseError(`${info.method} ${info.path} sent its reply itself; a handler that takes the reply over returns ctx.hijack()`);
  let status = successStatus(info.spec);
  let body = result;
  if (result instanceof Responded) {
    status = result.status;
    body = result.body;
    if (!(status in info.spec.response)) throw new UndeclaredResponseError(`${info.method} ${info.path} answered ${status}, which its route does not declare`);
  }
  const { schema, contentType } = normalizeResponse(info.spec.response[status]);
  reply.status(status);
  if (schema === null) {
    reply.send();
    return;
  }
  if (settings.get(reply.server)?.validateResponses && contentType.startsWith('application/json')) {
    const mismatch = responseMismatch(schema, body);
    if (mismatch) throw new UndeclaredResponseError(`${info.method} ${info.path} answered ${status} with a body its schema refuses: ${mismatch}`);
  }
  if (reply.getHeader('content-type') === undefined) reply.type(contentType.startsWith('application/json') ? 'application/json; charset=utf-8' : contentType);
  // Not returned: a fastify reply is thenable, and awaiting it would wait for the whole response.
  reply.send(body);
}
