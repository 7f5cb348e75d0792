import { Controller, Inject } from '@nestjs/common';
import { API_DEPS } from '../deps';
import { Route, route, type RouteContext } from '../route';
import { KillQuery, MySessionsQuery, PolicyList, SessionList, SessionParams, SessionView, TenantQuery, TenantView } from '../../schemas';
import { inTenant, wholeScope, type DomainDeps } from './deps';

/** Console sessions of the caller (or their tenant), and the tenant's quota and policies. */

const listSessions = route({
  method: 'GET',
  path: '/sessions',
  summary: 'My console sessions',
  description: "Mine; with all=true a tenant admin gets every user's of the tenant.",
  tags: ['sessions'],
  query: MySessionsQuery,
  response: { 200: SessionList },
  errors: [404, 503],
});

const killSession = route({
  method: 'DELETE',
  path: '/sessions/:key',
  summary: 'End a console session',
  description: "Mine, or (tenant admins) any of the tenant's. The guest keeps running; the viewer is disconnected.",
  tags: ['sessions'],
  params: SessionParams,
  query: KillQuery,
  response: { 200: SessionView },
  errors: [404, 503],
});

const getTenant = route({
  method: 'GET',
  path: '/tenant',
  summary: "My tenant's quota and usage",
  tags: ['tenant'],
  roles: ['tenant-admin', 'platform-ops'],
  query: TenantQuery,
  response: { 200: TenantView },
  errors: [404],
});

const tenantPolicies = route({
  method: 'GET',
  path: '/tenant/policies',
  summary: "My tenant's console policies",
  description: 'DesktopPolicies: bandwidth, denied channels, clipboard, session limits, and whom they bind.',
  tags: ['tenant'],
  roles: ['tenant-admin', 'platform-ops'],
  query: TenantQuery,
  response: { 200: PolicyList },
  errors: [404],
});

@Controller()
export class TenantController {
  constructor(@Inject(API_DEPS) private readonly deps: DomainDeps) {}

  @Route(listSessions)
  async sessions({ caller, query }: RouteContext<typeof listSessions>) {
    const whole = wholeScope(caller, query);
    return { items: await this.deps.sessions.list(caller, { ...(whole ? {} : { user: caller.user }), ...(query.desktop !== undefined && { desktop: query.desktop }) }) };
  }

  @Route(killSession)
  kill({ caller, params, query }: RouteContext<typeof killSession>) {
    return this.deps.sessions.kill(caller, params.key, query.reason);
  }

  @Route(getTenant)
  tenant({ caller, query }: RouteContext<typeof getTenant>) {
    return this.deps.tenants.get(caller, inTenant(caller, query.tenant).tenant);
  }

  @Route(tenantPolicies)
  async policies({ caller, query }: RouteContext<typeof tenantPolicies>) {
    return { items: await this.deps.policies.list(caller, inTenant(caller, query.tenant).tenant) };
  }
}
