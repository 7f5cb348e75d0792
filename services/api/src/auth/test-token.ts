import type { Caller, Role } from '../domain/caller';
import type { BuiltinIdp } from './builtin-idp';

/** What a test says about the caller it needs; the rest is filled in. */
export interface CallerInit {
  user: string;
  /** '' only together with the platform-ops role. */
  tenant: string;
  roles?: Iterable<Role>;
  groups?: string[];
  subject?: string;
}

export function testCaller(init: CallerInit): Caller {
  return {
    subject: init.subject ?? init.user,
    user: init.user,
    tenant: init.tenant,
    groups: init.groups ?? [],
    roles: new Set<Role>(['user', ...(init.roles ?? [])]),
  };
}

/**
 * A bearer token for `caller`, signed with the built-in identity provider's key, so an app
 * running with that provider accepts it like a logged-in user's. For tests and the demo
 * setup; there is no HTTP route that does this.
 */
export function testToken(idp: BuiltinIdp, caller: Caller | CallerInit, ttlSeconds?: number): Promise<string> {
  const c = 'roles' in caller && caller.roles instanceof Set ? (caller as Caller) : testCaller(caller);
  return idp.signAccessToken(c, ttlSeconds);
}
