import { Controller, Inject } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { API_DEPS, API_RUNTIME, type ApiRuntime } from '../deps';
import { Route, route, type RouteContext } from '../route';
import type { DesktopEvent } from '../../domain/desktop-feed';
import { ConsoleQuery, DesktopEventsQuery, DesktopParams } from '../../schemas';
import { inTenant, wholeScope, type DomainDeps } from './deps';

/** Consoles (.vv files, browser URLs) and the live feed of desktop status. */

const openConsole = route({
  method: 'GET',
  path: '/desktops/:name/console',
  summary: 'Open the console of my running desktop',
  description:
    'kind=vv (default): a .vv file for remote-viewer (`application/x-virt-viewer`, as an attachment) holding a short-lived gateway ticket, ' +
    'never the guest\'s own password. kind=browser: JSON `{ url, expiresAt }` (application/json), the ticket in the URL fragment. ' +
    'Only the owner may open a console. 409 while the desktop is not Running with its console ready. Rate-limited per user (429 with Retry-After).',
  tags: ['consoles'],
  params: DesktopParams,
  query: ConsoleQuery,
  response: {
    200: {
      schema: Type.String({ description: 'kind=vv: the [virt-viewer] file. kind=browser: {"url": string, "expiresAt": date-time} as application/json.' }),
      contentType: 'application/x-virt-viewer',
      description: 'The console: a .vv file, or (kind=browser) the browser console URL as JSON',
    },
  },
  errors: [404, 409, 429, 503],
});

const desktopEvents = route({
  method: 'GET',
  path: '/events/desktops',
  summary: 'Live status of my desktops (server-sent events)',
  description:
    'A text/event-stream: first one `added` event per desktop, then a `synced` event, then `added`, `modified` and `deleted` as they happen; ' +
    'each `data` is a Desktop (as GET /desktops/{name}). Comment lines keep idle connections open. all=true / tenant= as for GET /desktops.',
  tags: ['desktops'],
  query: DesktopEventsQuery,
  response: { 200: { schema: Type.String({ description: 'event: <added|modified|deleted|synced>\\ndata: <Desktop JSON>' }), contentType: 'text/event-stream', description: 'Server-sent events' } },
  errors: [404],
});

/** How often an idle stream gets a comment line, below the 30–60 s proxies allow an idle connection. */
export const KEEPALIVE_MS = 25_000;

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

@Controller()
export class ConsolesController {
  constructor(
    @Inject(API_DEPS) private readonly deps: DomainDeps,
    @Inject(API_RUNTIME) private readonly runtime: ApiRuntime,
  ) {}

  @Route(openConsole)
  async console({ caller, params, query, reply }: RouteContext<typeof openConsole>) {
    // Spent before anything is looked up, so probing names costs the same as opening consoles.
    this.deps.consoleLimit.enforce(`${caller.tenant}/${caller.user}`, 'too many console requests');
    const r = await this.deps.consoles.open(caller, params.name, query.kind ?? 'vv', inTenant(caller, query.tenant));
    // A ticket must not land in a shared cache.
    reply.header('cache-control', 'no-store');
    if (r.kind === 'browser') {
      reply.type('application/json; charset=utf-8');
      return { url: r.url, expiresAt: r.expiresAt } as unknown as string;
    }
    reply.header('content-disposition', `attachment; filename="${r.fileName}"`);
    return r.body;
  }

  @Route(desktopEvents)
  async events({ caller, query, reply, requestId, hijack }: RouteContext<typeof desktopEvents>) {
    const whole = wholeScope(caller, query);
    // Events arrive while watch() sends the snapshot, before the stream is open: held until then.
    const held: string[] = [];
    let send = (text: string): void => void held.push(text);
    const onEvent = (e: DesktopEvent): void => {
      if (whole || e.desktop.owner === caller.user) send(frame(e.type, e.desktop));
    };
    // Refusals (another tenant, a store that does not answer) happen here, before the reply is taken over.
    const subscription = await this.deps.desktops.watch(caller, onEvent, query.tenant !== undefined ? { tenant: query.tenant } : {});
    const hijacked = hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-request-id': requestId });
    send = (text) => {
      if (!raw.writableEnded && !raw.destroyed) raw.write(text);
    };
    for (const text of held.splice(0)) send(text);
    send(frame('synced', {}));
    const keepalive = setInterval(() => send(': keep-alive\n\n'), KEEPALIVE_MS);
    const signal = this.runtime.closeSignal;
    const end = (): void => {
      clearInterval(keepalive);
      subscription.stop();
      signal.removeEventListener('abort', end);
      if (!raw.writableEnded) raw.end();
    };
    raw.once('close', end);
    if (signal.aborted) end();
    else signal.addEventListener('abort', end, { once: true });
    return hijacked;
  }
}
