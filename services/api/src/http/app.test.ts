import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Inject } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../auth/passwords';
import { parseConfig } from '../config';
import { Conflict } from '../domain/errors';
import { createApiApp, type ApiApp } from './app';
import { API_DEPS, API_RUNTIME, type ApiDeps, type ApiRuntime } from './deps';
import type { ErrorBodyShape } from './error-filter';
import { createApiLogger } from './observability';
import { respond, route, Route, type RouteContext } from './route';
import { startTestApi } from './testing';

// A controller of the kind the domain helpers write, to drive the mechanism end to end in-process.
interface CounterDeps extends ApiDeps {
  calls: { create: number };
}

const Spec = Type.Object({ vcpus: Type.Integer({ minimum: 1, maximum: 16 }), mode: Type.Union([Type.Literal('Always'), Type.Literal('Halted')]) }, { additionalProperties: false });
const createThing = route({
  method: 'POST',
  path: '/things/:name',
  summary: 'Create a thing',
  tags: ['things'],
  params: Type.Object({ name: Type.String({ pattern: '^[a-z][-a-z0-9]*$', maxLength: 63 }) }),
  query: Type.Object({ dryRun: Type.Optional(Type.Boolean()) }),
  body: Type.Object({ spec: Spec }),
  response: { 201: Type.Object({ name: Type.String(), owner: Type.String(), vcpus: Type.Integer(), dryRun: Type.Boolean() }) },
  errors: [409],
});
const adminOnly = route({ method: 'DELETE', path: '/things/:name', summary: 'Delete a thing', tags: ['things'], roles: ['tenant-admin', 'platform-ops'], params: Type.Object({ name: Type.String() }), response: { 204: null } });
const liar = route({ method: 'GET', path: '/liar', summary: 'Answers off-schema', tags: ['things'], response: { 200: Type.Object({ n: Type.Integer() }) } });
const undeclared = route({ method: 'GET', path: '/undeclared', summary: 'Answers an undeclared status', tags: ['things'], response: { 200: Type.Object({}) } });
const stream = route({
  method: 'GET',
  path: '/stream',
  summary: 'Streams events until the app closes',
  tags: ['things'],
  response: { 200: { schema: Type.String(), contentType: 'text/event-stream', description: 'Server-sent events' } },
});
const crash = route({ method: 'GET', path: '/crash', summary: 'Throws a plain error', tags: ['things'], response: { 200: Type.Object({}) } });

@Controller()
class ThingsController {
  constructor(
    @Inject(API_DEPS) private readonly deps: CounterDeps,
    @Inject(API_RUNTIME) private readonly runtime: ApiRuntime,
  ) {}

  @Route(createThing)
  create({ params, query, body, caller }: RouteContext<typeof createThing>) {
    this.deps.calls.create++;
    if (params.name === 'taken') throw new Conflict('quota desktops exceeded: 3 of 3', 'desktops');
    return { name: params.name, owner: caller.user, vcpus: body.spec.vcpus, dryRun: query.dryRun ?? false };
  }

  @Route(adminOnly)
  remove(): void {}

  @Route(liar)
  liar() {
    return { n: 'three' } as unknown as { n: number };
  }

  @Route(undeclared)
  undeclared() {
    return respond(418, {});
  }

  // The pattern for server-sent events: hijack the reply, write to the raw response, end on closeSignal.
  @Route(stream)
  stream({ reply, requestId, hijack }: RouteContext<typeof stream>) {
    const hijacked = hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId });
    reply.raw.write('event: hello\ndata: {}\n\n');
    const end = (): void => void reply.raw.end('event: bye\ndata: {}\n\n');
    if (this.runtime.closeSignal.aborted) end();
    else this.runtime.closeSignal.addEventListener('abort', end, { once: true });
    return hijacked;
  }

  @Route(crash)
  crash(): never {
    throw new Error('secret detail');
  }
}

let dir: string;
let api: ApiApp;
let deps: CounterDeps;
let notReady = '';
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-app-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [{ username: 'alice', passwordHash: await hashPassword('pw', { N: 1024 }), tenant: 'team-a' }] }));
  const config = parseConfig({
    DESKPLANE_API_USERS_FILE: join(dir, 'users.json'),
    DESKPLANE_API_DATA_DIR: join(dir, 'data'),
    DESKPLANE_API_LISTEN: '127.0.0.1:0',
    DESKPLANE_API_VALIDATE_RESPONSES: 'true',
  });
  const logger = createApiLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  deps = {
    calls: { create: 0 },
    logger,
    metrics: new Registry(),
    readiness: [{ name: 'store', check: () => { if (notReady) throw new Error(notReady); } }],
  };
  api = await createApiApp(deps, config, { controllers: [ThingsController] });
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON body ({} when there is none). */
  body: Record<string, unknown> & { error: ErrorBodyShape['error'] };
}

async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(api.url + path, { method, headers, ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }) });
  const text = await res.text();
  const body = (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as Reply['body'];
  return { status: res.status, headers: res.headers, text, body };
}

const alice = () => api.testToken({ user: 'alice', tenant: 'team-a' });

describe('route mechanism in a running app', () => {
  it('validates, converts the query, and runs the handler with a typed context', async () => {
    const before = deps.calls.create;
    const r = await call('POST', '/things/box?dryRun=true', { token: await alice(), body: { spec: { vcpus: 2, mode: 'Always' } } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ name: 'box', owner: 'alice', vcpus: 2, dryRun: true });
    expect(deps.calls.create).toBe(before + 1);
  });

  it.each([
    [{ spec: { vcpus: 0, mode: 'Always' } }, '/things/box', 'spec.vcpus', 'spec.vcpus: must be ≥ 1'],
    [{ spec: { vcpus: 17, mode: 'Always' } }, '/things/box', 'spec.vcpus', 'spec.vcpus: must be ≤ 16'],
    [{ spec: { vcpus: '2', mode: 'Always' } }, '/things/box', 'spec.vcpus', 'spec.vcpus: must be a whole number'],
    [{ spec: { mode: 'Always' } }, '/things/box', 'spec.vcpus', 'spec.vcpus: is required'],
    [{ spec: { vcpus: 1, mode: 'Sometimes' } }, '/things/box', 'spec.mode', 'spec.mode: must be one of "Always", "Halted"'],
    [{ spec: { vcpus: 1, mode: 'Always', gpu: true } }, '/things/box', 'spec.gpu', 'spec.gpu: is not a known field'],
    [{ spec: { vcpus: 1, mode: 'Always' } }, '/things/Bad_Name', 'name', 'name: must match ^[a-z][-a-z0-9]*$'],
    [{ spec: { vcpus: 1, mode: 'Always' } }, '/things/box?dryRun=maybe', 'dryRun', 'dryRun: must be true or false'],
  ])('400 naming the field, nothing executed: %j at %s', async (body, path, field, message) => {
    const before = deps.calls.create;
    const r = await call('POST', path, { token: await alice(), body });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'BadRequest', field, message });
    expect(deps.calls.create).toBe(before);
  });

  it('answers a missing body with 400 "body: ..."', async () => {
    const r = await call('POST', '/things/box', { token: await alice(), body: null });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('body: must be an object');
  });

  it('checks the token before the body: no token → 401, never a 400', async () => {
    const before = deps.calls.create;
    const r = await call('POST', '/things/box', { body: { spec: { vcpus: 0 } } });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(deps.calls.create).toBe(before);
  });

  it('gates roles: a plain user gets 403, a tenant admin or platform ops passes', async () => {
    expect((await call('DELETE', '/things/box', { token: await alice() })).status).toBe(403);
    expect((await call('DELETE', '/things/box', { token: await api.testToken({ user: 'bob', tenant: 'team-a', roles: ['tenant-admin'] }) })).status).toBe(204);
    expect((await call('DELETE', '/things/box', { token: await api.testToken({ user: 'ops', tenant: '', roles: ['platform-ops'] }) })).status).toBe(204);
    // Roles also come from groups (DESKPLANE_API_ADMIN_GROUP default).
    expect((await call('DELETE', '/things/box', { token: await api.testToken({ user: 'carol', tenant: 'team-a', groups: ['deskplane-tenant-admins'] }) })).status).toBe(204);
  });

  it('maps domain errors to the error body, quota included', async () => {
    const r = await call('POST', '/things/taken', { token: await alice(), body: { spec: { vcpus: 1, mode: 'Halted' } } });
    expect(r.status).toBe(409);
    expect(r.body.error).toEqual({ code: 'Conflict', message: 'quota desktops exceeded: 3 of 3', quota: 'desktops', requestId: r.headers.get('x-request-id') });
  });

  it('keeps a sane incoming x-request-id and replaces an unsafe one', async () => {
    const kept = await call('GET', '/nowhere', { headers: { 'x-request-id': 'trace-42.a' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42.a');
    expect(kept.body.error).toMatchObject({ code: 'NotFound', requestId: 'trace-42.a' });
    const replaced = await call('GET', '/healthz', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('turns a response off its schema, an undeclared status and a crash into 500s that leak nothing', async () => {
    const token = await alice();
    for (const path of ['/liar', '/undeclared', '/crash']) {
      const r = await call('GET', path, { token });
      expect(r.status, path).toBe(500);
      expect(r.body.error.code).toBe('Internal');
      expect(JSON.stringify(r.body)).not.toContain('secret detail');
    }
    expect(lines.some((l) => l.event === 'http.error' && JSON.stringify(l).includes('n: must be a whole number'))).toBe(true);
  });

  it('logs one line per request with the request id and caller, and never the token', async () => {
    const token = await alice();
    const r = await call('GET', '/auth/me', { token, headers: { 'x-request-id': 'log-check-1' } });
    expect(r.status).toBe(200);
    const line = lines.find((l) => l.requestId === 'log-check-1');
    expect(line).toMatchObject({ event: 'http.request', route: '/auth/me', status: 200, user: 'alice', tenant: 'team-a' });
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('counts requests by route template and status in /metrics', async () => {
    await call('GET', '/things/zzz');
    const { text } = await call('GET', '/metrics');
    expect(text).toMatch(/deskplane_api_http_requests_total\{method="POST",route="\/things\/:name",status="201"\} [1-9]/);
    expect(text).toMatch(/deskplane_api_http_requests_total\{method="POST",route="\/things\/:name",status="400"\} [1-9]/);
    expect(text).toMatch(/deskplane_api_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz"\}/);
    expect(text).toContain('route="unmatched"');
  });

  it('reports readiness from the deps checks', async () => {
    expect((await call('GET', '/readyz')).body).toEqual({ status: 'ready', checks: { store: 'ok' } });
    notReady = 'store unreachable';
    const r = await call('GET', '/readyz');
    notReady = '';
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ status: 'not-ready', checks: { store: 'store unreachable' } });
  });

  it('lists exactly the mounted routes, in the document too', () => {
    const ids = api.routes.map((r) => `${r.method} ${r.path}`);
    expect(ids).toContain('POST /things/:name');
    expect(ids).toContain('GET /auth/me');
    expect(Object.keys(api.document.paths)).toContain('/things/{name}');
    expect(api.routes.find((r) => r.path === '/things/:name' && r.method === 'DELETE')?.roles).toEqual(['tenant-admin', 'platform-ops']);
  });
});

describe('streams', () => {
  it('lets a handler hijack the reply to stream, and ends it when the app closes', async () => {
    const own = await startTestApi({ calls: { create: 0 } }, { controllers: [ThingsController] });
    const res = await fetch(`${own.url}/stream`, { headers: { authorization: `Bearer ${await own.testToken({ user: 'alice', tenant: 'team-a' })}`, 'x-request-id': 'sse-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-request-id')).toBe('sse-1');
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: hello');
    const closing = own.close();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain('event: bye');
    await closing;
    expect(existsSync(own.dir)).toBe(false);
  });
});

describe('starting', () => {
  it('refuses a controller method routed without @Route', async () => {
    const { Get } = await import('@nestjs/common');
    @Controller()
    class Sneaky {
      @Get('/sneaky')
      open(): string {
        return 'no declaration';
      }
    }
    const config = parseConfig({ DESKPLANE_API_USERS_FILE: join(dir, 'users.json'), DESKPLANE_API_DATA_DIR: join(dir, 'data'), DESKPLANE_API_LISTEN: '127.0.0.1:0' });
    await expect(createApiApp({ logger: createApiLogger('silent') }, config, { controllers: [Sneaky] })).rejects.toThrow(/Sneaky.open is routed without @Route/);
  });
});

describe('extra roles', () => {
  it('adds roles the deps grant (a Tenant admins list) to what the token says, per request', async () => {
    const admins = new Set(['carol']);
    const own = await startTestApi(
      { calls: { create: 0 }, extraRoles: (c: { user: string }) => Promise.resolve(admins.has(c.user) ? (['tenant-admin'] as const) : []) },
      { controllers: [ThingsController] },
    );
    try {
      const del = async (user: string) =>
        (await fetch(`${own.url}/things/box`, { method: 'DELETE', headers: { authorization: `Bearer ${await own.testToken({ user, tenant: 'team-a' })}` } })).status;
      expect(await del('carol')).toBe(204);
      expect(await del('dave')).toBe(403);
      admins.delete('carol');
      expect(await del('carol')).toBe(403);
    } finally {
      await own.close();
    }
  });
});
