import { Controller, Inject } from '@nestjs/common';
import { API_DEPS } from '../deps';
import { Route, route, type RouteContext } from '../route';
import { AllQuery, CreateDesktopRequest, DeleteAccepted, DesktopList, DesktopParams, DesktopView, TemplateList, TenantQuery } from '../../schemas';
import { inTenant, wholeScope, type DomainDeps } from './deps';

/** Templates and desktops: list, create within quota, get, delete, start, stop, restart. */

const listTemplates = route({
  method: 'GET',
  path: '/templates',
  summary: 'Templates I may create desktops from',
  description: "The tenant's own templates and the shared ones (a tenant template of the same name wins).",
  tags: ['desktops'],
  query: TenantQuery,
  response: { 200: TemplateList },
  errors: [404],
});

const listDesktops = route({
  method: 'GET',
  path: '/desktops',
  summary: 'My desktops',
  description: "Mine; with all=true a tenant admin gets the whole tenant's, platform ops every tenant's (tenant= narrows it).",
  tags: ['desktops'],
  query: AllQuery,
  response: { 200: DesktopList },
  errors: [404],
});

const createDesktop = route({
  method: 'POST',
  path: '/desktops',
  summary: 'Create a desktop',
  description: 'From a template I may use, owned by me. 409 naming the quota (`error.quota`) when it would not fit; nothing is created then.',
  tags: ['desktops'],
  query: TenantQuery,
  body: CreateDesktopRequest,
  response: { 201: DesktopView },
  errors: [404, 409],
});

const getDesktop = route({
  method: 'GET',
  path: '/desktops/:name',
  summary: 'One desktop',
  tags: ['desktops'],
  params: DesktopParams,
  query: TenantQuery,
  response: { 200: DesktopView },
  errors: [404],
});

const deleteDesktop = route({
  method: 'DELETE',
  path: '/desktops/:name',
  summary: 'Delete a desktop',
  description: 'Asynchronous: the desktop shows `deleting` until its guest is removed, then it is gone.',
  tags: ['desktops'],
  params: DesktopParams,
  query: TenantQuery,
  response: { 202: DeleteAccepted },
  errors: [404],
});

const power = (action: 'start' | 'stop' | 'restart', summary: string, description: string) =>
  route({
    method: 'POST',
    path: `/desktops/:name/${action}`,
    summary,
    description,
    tags: ['desktops'],
    params: DesktopParams,
    query: TenantQuery,
    response: { 202: DesktopView },
    errors: [404, 409],
  });

const startDesktop = power('start', 'Start a desktop', 'Sets it to run; the phase follows (Starting, Running).');
const stopDesktop = power('stop', 'Stop a desktop', 'Shuts the guest down; the phase follows (Stopping, Stopped).');
const restartDesktop = power('restart', 'Restart a desktop', 'Stops it, waits until the stop has begun, then starts it again. 409 when it has not run yet.');

@Controller()
export class DesktopsController {
  constructor(@Inject(API_DEPS) private readonly deps: DomainDeps) {}

  @Route(listTemplates)
  async templates({ caller, query }: RouteContext<typeof listTemplates>) {
    return { items: await this.deps.templates.list(caller, inTenant(caller, query.tenant)) };
  }

  @Route(listDesktops)
  async list({ caller, query }: RouteContext<typeof listDesktops>) {
    const whole = wholeScope(caller, query);
    return { items: await this.deps.desktops.list(caller, { ...(query.tenant !== undefined && { tenant: query.tenant }), mine: !whole }) };
  }

  @Route(createDesktop)
  create({ caller, query, body }: RouteContext<typeof createDesktop>) {
    return this.deps.desktops.create(caller, body, inTenant(caller, query.tenant));
  }

  @Route(getDesktop)
  get({ caller, params, query }: RouteContext<typeof getDesktop>) {
    return this.deps.desktops.get(caller, params.name, inTenant(caller, query.tenant));
  }

  @Route(deleteDesktop)
  async remove({ caller, params, query }: RouteContext<typeof deleteDesktop>) {
    await this.deps.desktops.delete(caller, params.name, inTenant(caller, query.tenant));
    return { name: params.name, tenant: query.tenant ?? caller.tenant, deleting: true as const };
  }

  @Route(startDesktop)
  start({ caller, params, query }: RouteContext<typeof startDesktop>) {
    return this.deps.desktops.start(caller, params.name, inTenant(caller, query.tenant));
  }

  @Route(stopDesktop)
  stop({ caller, params, query }: RouteContext<typeof stopDesktop>) {
    return this.deps.desktops.stop(caller, params.name, inTenant(caller, query.tenant));
  }

  @Route(restartDesktop)
  restart({ caller, params, query }: RouteContext<typeof restartDesktop>) {
    return this.deps.desktops.restart(caller, params.name, inTenant(caller, query.tenant));
  }
}
