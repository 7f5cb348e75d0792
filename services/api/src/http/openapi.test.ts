import { Controller } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { AuthController, BuiltinIdpController } from './auth.controller';
import { HealthController } from './health.controller';
import { buildOpenApiDocument, toJsonSchema } from './openapi';
import { checkOpenApiDocument } from './openapi-check';
import { listRoutes, route, Route } from './route';

const listThings = route({
  method: 'GET',
  path: '/tenants/:tenant/things',
  summary: 'List things',
  tags: ['things'],
  roles: ['tenant-admin'],
  params: Type.Object({ tenant: Type.String({ pattern: '^[a-z0-9-]+$' }) }),
  query: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })), owner: Type.String() }),
  response: { 200: Type.Object({ items: Type.Array(Type.Tuple([Type.String(), Type.Integer()])) }) },
  errors: [404],
});

@Controller()
class ThingsDocController {
  @Route(listThings)
  list() {
    return { items: [] };
  }
}

const controllers = [HealthController, AuthController, BuiltinIdpController, ThingsDocController];
const doc = () => buildOpenApiDocument(listRoutes(controllers), { title: 'Deskplane API', version: '0.0.0-test' });

interface Media {
  schema: Record<string, unknown>;
}
interface Op {
  operationId: string;
  security: unknown;
  parameters?: unknown[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media> }>;
  'x-deskplane-roles'?: string[];
}
const opAt = (d: ReturnType<typeof doc>, path: string, method: string): Op => d.paths[path]![method] as unknown as Op;

describe('the generated OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    const d = doc();
    expect(d.openapi).toBe('3.1.0');
    expect(checkOpenApiDocument(d)).toEqual([]);
    expect(checkOpenApiDocument(JSON.parse(JSON.stringify(d)))).toEqual([]);
  });

  it('gives every route request and response schemas, errors included', () => {
    const d = doc();
    for (const r of listRoutes(controllers)) {
      const op = opAt(d, r.openApiPath, r.method.toLowerCase());
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(Object.keys(op.responses)).toContain('500');
      if (!r.public) expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
      if (r.spec.body) expect(op.requestBody?.content['application/json']?.schema).toBeTypeOf('object');
      expect(op.security).toEqual(r.public ? [] : [{ bearer: [] }]);
    }
  });

  it('describes path and query parameters, roles and declared errors', () => {
    const op = opAt(doc(), '/tenants/{tenant}/things', 'get');
    expect(op.parameters).toEqual([
      { name: 'tenant', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9-]+$' } },
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
      { name: 'owner', in: 'query', required: true, schema: { type: 'string' } },
    ]);
    expect(op['x-deskplane-roles']).toEqual(['tenant-admin']);
    expect(op.responses['404']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Error' });
    expect(op.responses['400']).toBeDefined();
    expect(op.operationId).toBe('thingsDoc.list');
  });

  it('writes tuples the 2020-12 way and documents non-JSON responses by media type', () => {
    const d = doc();
    const body = opAt(d, '/tenants/{tenant}/things', 'get').responses['200']?.content?.['application/json']?.schema as { properties: { items: { items: Record<string, unknown> } } };
    const tuple = body.properties.items.items;
    expect(tuple.prefixItems).toHaveLength(2);
    expect(tuple.items).toBe(false);
    expect(tuple.additionalItems).toBeUndefined();
    expect(Object.keys(opAt(d, '/metrics', 'get').responses['200']?.content ?? {})).toEqual(['text/plain']);
    expect(opAt(d, '/auth/logout', 'post').responses['204']?.content).toBeUndefined();
  });

  it('refuses TypeBox types with no JSON form', () => {
    expect(() => toJsonSchema(Type.Object({ at: Type.Date() }), 'GET /x response 200')).toThrow('GET /x response 200: schema at /properties/at is a TypeBox Date');
  });
});

describe('checkOpenApiDocument finds what would make the document invalid', () => {
  const DELETE = Symbol('delete');
  /** A copy of the document with the value at a JSON pointer replaced (or deleted). */
  const mutated = (pointer: string, value: unknown): unknown => {
    const d = JSON.parse(JSON.stringify(doc())) as Record<string, unknown>;
    const keys = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    let node = d;
    for (const k of keys) node = node[k] as Record<string, unknown>;
    if (value === DELETE) delete node[last];
    else node[last] = value;
    return d;
  };
  const things = '/paths/~1tenants~1{tenant}~1things/get';
  it.each([
    ['a 3.0 version', '/openapi', '3.0.3', /\/openapi: must be 3.1.x/],
    ['a template without its path parameter', `${things}/parameters`, [], /path template \{tenant\} has no path parameter/],
    ['an optional path parameter', `${things}/parameters/0/required`, false, /must be required: true/],
    ['a duplicate operationId', '/paths/~1healthz/get/operationId', 'health.readyz', /is also used at/],
    ['an undefined security scheme', '/paths/~1auth~1me/get/security', [{ oauth: [] }], /names security scheme "oauth"/],
    ['a dangling $ref', '/components/schemas/Error', DELETE, /"#\/components\/schemas\/Error" does not resolve/],
    ['a broken pattern', `${things}/parameters/0/schema/pattern`, '([', /is not a valid regular expression/],
    ['a draft-07 tuple', '/components/schemas/Error/additionalItems', false, /additionalItems: is draft-07/],
    ['an operation without responses', '/paths/~1healthz/get/responses', {}, /must declare at least one response/],
    ['a bad status key', '/paths/~1healthz/get/responses/2000', { description: 'x' }, /is not a status code/],
    ['a response without description', '/paths/~1healthz/get/responses/200/description', DELETE, /needs a description/],
    ['an unknown type', '/components/schemas/Error/type', 'dict', /is not a JSON Schema type/],
    ['a non-array required', '/components/schemas/Error/required', 'error', /must be an array of distinct strings/],
    ['an unknown root field', '/swagger', '2.0', /\/swagger: is not an OpenAPI field/],
  ])('%s', (_name, pointer, value, problem) => {
    const problems = checkOpenApiDocument(mutated(pointer, value));
    expect(problems.some((p) => problem.test(p)), problems.join('\n')).toBe(true);
  });
});

describe('route declarations that cannot be honoured stop at declaration', () => {
  const base = { summary: 'x', tags: ['t'], response: { 200: Type.Object({}) } } as const;
  it.each([
    [{ ...base, method: 'GET', path: '/a/:id' }, /path parameter :id has no schema in params/],
    [{ ...base, method: 'GET', path: '/a', params: Type.Object({ id: Type.String() }) }, /params.id is not in the path/],
    [{ ...base, method: 'GET', path: '/a', response: { 200: Type.Object({}), 201: Type.Object({}) } }, /exactly one 2xx status, found 2/],
    [{ ...base, method: 'GET', path: '/a', body: Type.Object({}) }, /GET takes no body/],
    [{ ...base, method: 'GET', path: '/a', tags: [] }, /at least one tag/],
    [{ ...base, method: 'GET', path: '/a', errors: [200] }, /not an error status/],
  ] as const)('%j', (spec, message) => {
    expect(() => Route(spec as never)).toThrow(message);
  });
});
