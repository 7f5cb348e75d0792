/**
 * The document the full app serves at /docs/openapi.json: valid OpenAPI 3.1, and every
 * domain route declares its response schema and, where it takes input, its request schemas.
 * The app is built by buildApi on an EmbeddedStore with no gateway configured (those routes
 * answer 503; that is not what this file is about).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '@deskplane/resource-store';
import { apiSchemas } from '../../domain/resources';
import { buildApi, type BuiltApi } from '../../wiring';
import { parseConfig } from '../../config';
import type { ApiApp } from '../app';
import { checkOpenApiDocument } from '../openapi-check';
import { pathParams } from '../route';
import { startTestApi } from '../testing';

type Op = {
  operationId: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
  'x-deskplane-roles'?: string[];
};

let api: ApiApp;
let built: BuiltApi;
let doc: { paths: Record<string, Record<string, Op>> };

beforeAll(async () => {
  const env = { DESKPLANE_API_USERS_FILE: '/nonexistent/users.json', DESKPLANE_API_GATEWAY_HOST: 'gw.example' };
  built = buildApi({ config: parseConfig(env), store: new EmbeddedStore({ schemas: apiSchemas() }) });
  api = await startTestApi(built.deps, { controllers: built.controllers, env: { DESKPLANE_API_GATEWAY_HOST: 'gw.example' } });
  doc = (await (await fetch(`${api.url}/docs/openapi.json`)).json()) as typeof doc;
});

afterAll(async () => {
  await api?.close();
  await built?.close();
});

describe('the served OpenAPI document', () => {
  it('validates', () => {
    expect(checkOpenApiDocument(doc)).toEqual([]);
  });

  it('lists exactly the mounted routes', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(api.routes.map((r) => `${r.method} ${r.openApiPath}`).sort());
    expect(api.routes.filter((r) => r.controller !== 'HealthController' && r.controller !== 'AuthController' && r.controller !== 'BuiltinIdpController')).toHaveLength(30);
  });

  it('gives every route a success schema, and the request schemas of what it takes', () => {
    const problems: string[] = [];
    for (const r of api.routes) {
      const op = doc.paths[r.openApiPath]![r.method.toLowerCase()]!;
      const at = `${r.method} ${r.path}`;
      const success = Object.entries(op.responses).filter(([s]) => s.startsWith('2'));
      // 204 is declared as "no body" (its schema is the absence of one); every other success has a schema.
      const [status, ok] = success[0] ?? [];
      if (success.length !== 1 || (status !== '204' && (!ok?.content || Object.values(ok.content).some((m) => !m.schema)))) problems.push(`${at}: no success schema`);
      for (const p of pathParams(r.path)) if (!op.parameters?.some((x) => x.in === 'path' && x.name === p)) problems.push(`${at}: path parameter ${p} undocumented`);
      for (const q of Object.keys(r.spec.query?.properties ?? {})) if (!op.parameters?.some((x) => x.in === 'query' && x.name === q)) problems.push(`${at}: query ${q} undocumented`);
      if ((r.method === 'PUT' || r.path === '/desktops' || r.path === '/ops/migrations') && r.method !== 'GET' && !op.requestBody?.content['application/json']?.schema) problems.push(`${at}: no request body schema`);
      if (!r.public && !op.responses['401']) problems.push(`${at}: 401 undocumented`);
    }
    expect(problems).toEqual([]);
  });

  it('documents who may call: ops routes need platform-ops, tenant admin routes name both roles', () => {
    for (const r of api.routes) {
      const roles = doc.paths[r.openApiPath]![r.method.toLowerCase()]!['x-deskplane-roles'];
      if (r.path.startsWith('/ops/')) expect(roles, r.path).toEqual(['platform-ops']);
      else if (r.path.startsWith('/tenant')) expect(roles, r.path).toEqual(['tenant-admin', 'platform-ops']);
      else expect(roles, r.path).toBeUndefined();
    }
  });

  it('names the console media type and the quota error of create', () => {
    expect(Object.keys(doc.paths['/desktops/{name}/console']!.get!.responses['200']!.content!)).toEqual(['application/x-virt-viewer']);
    expect(Object.keys(doc.paths['/events/desktops']!.get!.responses['200']!.content!)).toEqual(['text/event-stream']);
    expect(Object.keys(doc.paths['/pools/{name}/console']!.get!.responses['200']!.content!)).toEqual(['application/x-virt-viewer']);
    expect(Object.keys(doc.paths['/pools/{name}/claim']!.post!.responses)).toEqual(expect.arrayContaining(['200', '403', '404', '409']));
    expect(Object.keys(doc.paths['/desktops']!.post!.responses)).toEqual(expect.arrayContaining(['201', '400', '404', '409']));
  });
});

describe('without a gateway configured', () => {
  it('serves the rest, answers 503 naming the setting, and says so in /readyz', async () => {
    expect(built.missing).toEqual(['DESKPLANE_API_GATEWAY_ADMIN']);
    const token = await api.testToken({ user: 'alice', tenant: 'team-a' });
    const headers = { authorization: `Bearer ${token}` };
    expect((await fetch(`${api.url}/desktops`, { headers })).status).toBe(200);
    const sessions = await fetch(`${api.url}/sessions`, { headers });
    expect(sessions.status).toBe(503);
    expect(((await sessions.json()) as { error: { message: string } }).error.message).toMatch(/DESKPLANE_API_GATEWAY_ADMIN/);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks).toMatchObject({ store: 'ok', settings: 'not configured: DESKPLANE_API_GATEWAY_ADMIN' });
  });
});
