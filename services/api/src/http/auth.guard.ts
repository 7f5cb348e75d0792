import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../auth/verifier';
import type { Caller, Role } from '../domain/caller';
import { Forbidden, Unauthorized } from '../domain/errors';
import { setCaller } from './caller-store';
import { routeOf } from './route';

/**
 * The global guard: a route declared public passes; every other route needs
 * `Authorization: Bearer <JWT>` that the TokenVerifier accepts, and, when the route names
 * roles, a caller holding one of them (403 otherwise). A handler without a route
 * declaration is refused, so nothing is reachable by accident.
 */
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly extraRoles?: (caller: Caller) => Promise<readonly Role[]>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const info = routeOf(context.getHandler());
    if (!info) throw new Forbidden('this route has no access declaration');
    if (info.public) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    let caller = await this.verifier.verify(bearerToken(request));
    const more = this.extraRoles ? (await this.extraRoles(caller)).filter((r) => !caller.roles.has(r)) : [];
    if (more.length > 0) caller = { ...caller, roles: new Set([...caller.roles, ...more]) };
    setCaller(request, caller);
    if (info.roles && !info.roles.some((r) => caller.roles.has(r))) {
      throw new Forbidden(`${info.method} ${info.path} needs the ${info.roles.join(' or ')} role`);
    }
    return true;
  }
}

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) throw new Unauthorized('no bearer token: send Authorization: Bearer <token>');
  const m = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  if (!m) throw new Unauthorized('the Authorization header must be "Bearer <token>"');
  return m[1]!;
}
