import type { ApiDeps } from '../deps';
import type { RateLimiter } from '../rate-limiter';
import { isOps, isTenantAdmin } from '../../domain/access';
import type { Caller } from '../../domain/caller';
import type { Consoles } from '../../domain/consoles';
import type { Desktops } from '../../domain/desktops';
import { BadRequest, Forbidden } from '../../domain/errors';
import type { Ops } from '../../domain/ops';
import type { Pools } from '../../domain/pools';
import type { Sessions } from '../../domain/sessions';
import type { Templates } from '../../domain/templates';
import type { Tenants } from '../../domain/tenants';
import type { TenantPolicies } from './policies';

/** What the domain controllers work with; buildApi (wiring.ts) makes it from the configuration. */
export interface DomainDeps extends ApiDeps {
  desktops: Desktops;
  templates: Templates;
  tenants: Tenants;
  consoles: Pick<Consoles, 'open' | 'checkKind'>;
  pools: Pick<Pools, 'list' | 'claim' | 'console'>;
  sessions: Sessions;
  ops: Ops;
  policies: TenantPolicies;
  /** Console tickets per user (`<tenant>/<user>`). */
  consoleLimit: RateLimiter;
}

/**
 * The tenant option of a call that acts in exactly one tenant. Platform ops without a tenant
 * of their own must name one; a name is otherwise handed to the domain, which answers 404
 * for anyone but ops naming a tenant not theirs.
 */
export function inTenant(caller: Caller, tenant: string | undefined): { tenant?: string } {
  if (tenant !== undefined) return { tenant };
  if (isOps(caller) && caller.tenant === '') throw new BadRequest('tenant is required: platform operators name the tenant to act in (?tenant=…)', 'tenant');
  return {};
}

/**
 * Whether a list covers more than the caller's own objects. `all=true` asks for the whole
 * tenant (admins) or every tenant (ops); a plain user asking for it is refused with 403,
 * as any action their role does not allow. Ops naming a tenant mean all of it.
 */
export function wholeScope(caller: Caller, query: { all?: boolean; tenant?: string }): boolean {
  if (query.all === true && !isOps(caller) && !isTenantAdmin(caller)) throw new Forbidden('all=true is for tenant admins and platform operators');
  return query.all === true || (isOps(caller) && query.tenant !== undefined);
}
