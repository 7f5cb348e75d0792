import { Controller, Inject } from '@nestjs/common';
import { API_DEPS } from '../deps';
import { Route, route, type RouteContext, type RouteSpec } from '../route';
import {
  AuditList,
  AuditQuery,
  HostList,
  HostParams,
  HostView,
  KillQuery,
  MigrationList,
  MigrationParams,
  MigrationView,
  MigrationsQuery,
  OpsSessionsQuery,
  QueueList,
  QuotaChange,
  SessionList,
  SessionParams,
  SessionView,
  StartMigrationRequest,
  TenantList,
  TenantParams,
  TenantView,
} from '../../schemas';
import type { DomainDeps } from './deps';

/** Platform operations: hosts, migrations, every session, queues, the audit log, tenants' quotas. */

/** Every route here is for platform ops: the guard refuses anyone else (403) before any lookup. */
const ops = <const S extends Omit<RouteSpec, 'roles' | 'tags'> & { tags?: readonly string[] }>(spec: S) =>
  route({ ...spec, tags: spec.tags ?? ['ops'], roles: ['platform-ops'] as const });

const listHosts = ops({ method: 'GET', path: '/ops/hosts', summary: 'Hosts: capacity, allocations, guests, drain state', response: { 200: HostList } });
const getHost = ops({ method: 'GET', path: '/ops/hosts/:name', summary: 'One host', params: HostParams, response: { 200: HostView }, errors: [404] });
const drainHost = ops({
  method: 'POST',
  path: '/ops/hosts/:name/drain',
  summary: 'Drain a host',
  description: 'Maintenance on: its desktops are live-migrated away; `drained` turns true once it is empty.',
  params: HostParams,
  response: { 202: HostView },
  errors: [404],
});
const undrainHost = ops({
  method: 'POST',
  path: '/ops/hosts/:name/undrain',
  summary: 'Undrain a host',
  description: 'Maintenance off: unstarted drain migrations are cancelled and the host takes desktops again.',
  params: HostParams,
  response: { 202: HostView },
  errors: [404],
});
const listMigrations = ops({ method: 'GET', path: '/ops/migrations', summary: 'Live migrations, newest first', query: MigrationsQuery, response: { 200: MigrationList } });
const startMigration = ops({
  method: 'POST',
  path: '/ops/migrations',
  summary: 'Live-migrate a desktop',
  description: 'Creates a DesktopMigration; without targetHost the scheduler picks one. 409 while the desktop is not placed or already migrating.',
  body: StartMigrationRequest,
  response: { 201: MigrationView },
  errors: [404, 409],
});
const abortMigration = ops({
  method: 'DELETE',
  path: '/ops/migrations/:tenant/:name',
  summary: 'Abort a migration',
  description: 'One moving memory is aborted by the orchestrator (the guest stays on the source; `aborting` until then); any other goes at once.',
  params: MigrationParams,
  response: { 202: MigrationView },
  errors: [404],
});
const listAllSessions = ops({ method: 'GET', path: '/ops/sessions', summary: 'Console sessions of every tenant', query: OpsSessionsQuery, response: { 200: SessionList }, errors: [503] });
const killAnySession = ops({
  method: 'DELETE',
  path: '/ops/sessions/:key',
  summary: 'End any console session',
  params: SessionParams,
  query: KillQuery,
  response: { 200: SessionView },
  errors: [404, 503],
});
const queues = ops({ method: 'GET', path: '/ops/queues', summary: 'Job counts of the work queues', response: { 200: QueueList }, errors: [503] });
const auditLog = ops({
  method: 'GET',
  path: '/ops/audit',
  summary: 'The audit log, newest first',
  description: "API actions (desktop.create, console.open, session.kill, …) and the gateway's ended sessions (session.end).",
  query: AuditQuery,
  response: { 200: AuditList },
  errors: [503],
});
const listTenants = ops({ method: 'GET', path: '/ops/tenants', summary: 'Tenants with quota and usage', response: { 200: TenantList } });
const setQuota = ops({
  method: 'PUT',
  path: '/ops/tenants/:tenant/quota',
  summary: "Set a tenant's quota",
  description: 'A number sets a limit, null removes it, an absent field stays. Existing desktops are never removed to meet it.',
  params: TenantParams,
  body: QuotaChange,
  response: { 200: TenantView },
});

@Controller()
export class OpsController {
  constructor(@Inject(API_DEPS) private readonly deps: DomainDeps) {}

  @Route(listHosts)
  async hosts({ caller }: RouteContext<typeof listHosts>) {
    return { items: await this.deps.ops.hosts(caller) };
  }

  @Route(getHost)
  host({ caller, params }: RouteContext<typeof getHost>) {
    return this.deps.ops.host(caller, params.name);
  }

  @Route(drainHost)
  drain({ caller, params }: RouteContext<typeof drainHost>) {
    return this.deps.ops.drain(caller, params.name);
  }

  @Route(undrainHost)
  undrain({ caller, params }: RouteContext<typeof undrainHost>) {
    return this.deps.ops.undrain(caller, params.name);
  }

  @Route(listMigrations)
  async migrations({ caller, query }: RouteContext<typeof listMigrations>) {
    return { items: await this.deps.ops.migrations(caller, query) };
  }

  @Route(startMigration)
  migrate({ caller, body }: RouteContext<typeof startMigration>) {
    return this.deps.ops.startMigration(caller, body);
  }

  @Route(abortMigration)
  abort({ caller, params }: RouteContext<typeof abortMigration>) {
    return this.deps.ops.abortMigration(caller, params.tenant, params.name);
  }

  @Route(listAllSessions)
  async sessions({ caller, query }: RouteContext<typeof listAllSessions>) {
    return { items: await this.deps.sessions.list(caller, query) };
  }

  @Route(killAnySession)
  kill({ caller, params, query }: RouteContext<typeof killAnySession>) {
    return this.deps.sessions.kill(caller, params.key, query.reason);
  }

  @Route(queues)
  async queues({ caller }: RouteContext<typeof queues>) {
    return { items: await this.deps.ops.queueStats(caller) };
  }

  @Route(auditLog)
  async audit({ caller, query }: RouteContext<typeof auditLog>) {
    return { items: await this.deps.ops.audit(caller, query) };
  }

  @Route(listTenants)
  async tenants({ caller }: RouteContext<typeof listTenants>) {
    return { items: await this.deps.tenants.list(caller) };
  }

  @Route(setQuota)
  quota({ caller, params, body }: RouteContext<typeof setQuota>) {
    return this.deps.tenants.setQuota(caller, params.tenant, body);
  }
}
