import { Controller, Inject } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { API_DEPS, API_RUNTIME, type ApiRuntime } from '../deps';
import { Route, route, type RouteContext } from '../route';
import { Conflict } from '../../domain/errors';
import { ConsoleQuery, PoolClaim, PoolList, PoolParams, TenantQuery } from '../../schemas';
import { inTenant, type DomainDeps } from './deps';

/** Desktop pools: the ones I may claim, a claim, and the console of a claimed desktop in one call. */

const listPools = route({
  method: 'GET',
  path: '/pools',
  summary: 'Pools I may claim a desktop from',
  description: "The tenant's DesktopPools whose claimants include me (no claimants = everyone of the tenant), with how many desktops are free now and the one I already hold.",
  tags: ['pools'],
  query: TenantQuery,
  response: { 200: PoolList },
  errors: [404],
});

const claimPool = route({
  method: 'POST',
  path: '/pools/:name/claim',
  summary: 'Claim a desktop of a pool',
  description:
    'The desktop I already hold in the pool (result reclaimed), else a free one in one atomic step (claimed): running with its console ready first, ' +
    'then one starting, then one defined but stopped (it is started). Two claims racing never get the same desktop. ' +
    '403 when I am not one of the pool’s claimants; 409 with error.reason = exhausted when nothing is free.',
  tags: ['pools'],
  params: PoolParams,
  query: TenantQuery,
  response: { 200: PoolClaim },
  errors: [404, 409],
});

const poolConsole = route({
  method: 'GET',
  path: '/pools/:name/console',
  summary: 'Claim a desktop of a pool and open its console',
  description:
    'Claims as POST /pools/{name}/claim, waits until the desktop runs with its console ready (up to DESKPLANE_API_POOL_CONSOLE_WAIT_S), then answers exactly as ' +
    'GET /desktops/{name}/console: a .vv file (kind=vv) or JSON { url, expiresAt } (kind=browser). The x-deskplane-desktop header names the desktop, ' +
    'x-deskplane-claim says claimed or reclaimed. 409 with error.reason = exhausted (nothing free) or starting (still starting after the wait; it stays mine, ask again). ' +
    'Rate-limited per user with the desktop console (429 with Retry-After).',
  tags: ['pools', 'consoles'],
  params: PoolParams,
  query: ConsoleQuery,
  response: {
    200: {
      schema: Type.String({ description: 'kind=vv: the [virt-viewer] file. kind=browser: {"url": string, "expiresAt": date-time} as application/json.' }),
      contentType: 'application/x-virt-viewer',
      description: 'The console of my desktop of the pool: a .vv file, or (kind=browser) the browser console URL as JSON',
    },
  },
  errors: [404, 409, 429, 503],
});

@Controller()
export class PoolsController {
  constructor(
    @Inject(API_DEPS) private readonly deps: DomainDeps,
    @Inject(API_RUNTIME) private readonly runtime: ApiRuntime,
  ) {}

  @Route(listPools)
  async list({ caller, query }: RouteContext<typeof listPools>) {
    return { items: await this.deps.pools.list(caller, inTenant(caller, query.tenant)) };
  }

  @Route(claimPool)
  claim({ caller, params, query }: RouteContext<typeof claimPool>) {
    return this.deps.pools.claim(caller, params.name, inTenant(caller, query.tenant));
  }

  @Route(poolConsole)
  async console({ caller, params, query, reply }: RouteContext<typeof poolConsole>) {
    const startedAt = performance.now();
    this.deps.consoleLimit.enforce(`${caller.tenant}/${caller.user}`, 'too many console requests');
    // A client that gives up (or a server that stops) ends the wait, not only the deadline.
    const gone = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    const signal = AbortSignal.any([gone.signal, this.runtime.closeSignal]);
    try {
      const r = await this.deps.pools.console(caller, params.name, query.kind ?? 'vv', { ...inTenant(caller, query.tenant), signal, startedAt });
      reply.header('cache-control', 'no-store');
      reply.header('x-deskplane-desktop', r.desktop);
      reply.header('x-deskplane-claim', r.result);
      if (r.kind === 'browser') {
        reply.type('application/json; charset=utf-8');
        return { url: r.url, expiresAt: r.expiresAt } as unknown as string;
      }
      reply.header('content-disposition', `attachment; filename="${r.fileName}"`);
      return r.body;
    } catch (err) {
      if (signal.aborted) throw new Conflict('the request ended before the desktop was running; the desktop stays yours', undefined, 'starting');
      throw err;
    } finally {
      reply.raw.off('close', onClose);
    }
  }
}
