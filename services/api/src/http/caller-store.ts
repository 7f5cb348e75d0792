import type { FastifyRequest } from 'fastify';
import type { Caller } from '../domain/caller';

// Kept beside the request rather than on it, so nothing else can set or forge it.
const callers = new WeakMap<FastifyRequest, Caller>();

export function setCaller(request: FastifyRequest, caller: Caller): void {
  callers.set(request, caller);
}

/** The authenticated caller of `request`; undefined on public routes. */
export function callerOf(request: FastifyRequest): Caller {
  return callers.get(request) as Caller;
}
