import { Kind, type TSchema } from '@sinclair/typebox';
import { normalizeResponse } from './respond';
import type { RouteInfo } from './route';
import { ErrorBody } from './schemas';

/**
 * The OpenAPI 3.1 document, built from the route declarations alone (not from Nest's
 * scanner): what a route validates against is exactly what the document says.
 */

export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: Record<string, Record<string, unknown>>;
};

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  400: 'Invalid request: the message and field name the first problem',
  401: 'No valid bearer token',
  403: 'The caller may not do this',
  404: 'Not found (also for anything that belongs to another tenant)',
  409: 'Conflict with the current state, or a quota exceeded',
  429: 'Rate-limited; see Retry-After',
  500: 'Internal error; the request id leads to the log',
  503: 'Unavailable',
};

// TypeBox kinds with no JSON representation: a route that declared one could not keep its promise.
const NON_JSON_KINDS = new Set(['Date', 'Uint8Array', 'Undefined', 'Function', 'Constructor', 'Promise', 'AsyncIterator', 'Iterator', 'Symbol', 'BigInt', 'Void', 'Ref', 'This']);

/** A TypeBox schema as plain JSON Schema 2020-12 (TypeBox writes draft-07 tuples). */
export function toJsonSchema(schema: TSchema, where: string): Record<string, unknown> {
  const walk = (node: unknown, path: string): unknown => {
    if (Array.isArray(node)) return node.map((n, i) => walk(n, `${path}/${i}`));
    if (typeof node !== 'object' || node === null) return node;
    const kind = (node as Record<symbol, unknown>)[Kind];
    if (typeof kind === 'string' && NON_JSON_KINDS.has(kind)) throw new Error(`${where}: schema at ${path || '/'} is a TypeBox ${kind}, which has no JSON Schema form`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, `${path}/${k}`);
    if (Array.isArray(out.items)) {
      out.prefixItems = out.items;
      out.items = out.additionalItems ?? false;
      delete out.additionalItems;
    }
    return out;
  };
  return walk(schema, '') as Record<string, unknown>;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

function errorResponse(status: number): Record<string, unknown> {
  return { description: REASONS[status] ?? `Error ${status}`, content: { 'application/json': { schema: ERROR_REF } } };
}

function operation(route: RouteInfo): Record<string, unknown> {
  const { spec } = route;
  const at = `${route.method} ${route.path}`;
  const parameters: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(spec.params?.properties ?? {})) {
    parameters.push({ name, in: 'path', required: true, schema: toJsonSchema(schema, `${at} params.${name}`), ...(schema.description && { description: schema.description }) });
  }
  const requiredQuery = new Set(spec.query?.required ?? []);
  for (const [name, schema] of Object.entries(spec.query?.properties ?? {})) {
    parameters.push({ name, in: 'query', required: requiredQuery.has(name), schema: toJsonSchema(schema, `${at} query.${name}`), ...(schema.description && { description: schema.description }) });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, decl] of Object.entries(spec.response)) {
    const r = normalizeResponse(decl);
    responses[status] = {
      description: r.description ?? REASONS[Number(status)] ?? `Status ${status}`,
      ...(r.schema && { content: { [r.contentType.split(';')[0]!.trim()]: { schema: toJsonSchema(r.schema, `${at} response ${status}`) } } }),
    };
  }
  const automatic = [...(spec.params || spec.query || spec.body ? [400] : []), ...(route.public ? [] : [401, 403]), ...(spec.errors ?? []), 500];
  for (const status of automatic) responses[String(status)] ??= errorResponse(status);
  return {
    operationId: route.operationId,
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    tags: [...spec.tags],
    security: route.public ? [] : [{ bearer: [] }],
    ...(parameters.length > 0 && { parameters }),
    ...(spec.body && { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(spec.body, `${at} body`) } } } }),
    responses,
    ...(route.roles && { 'x-deskplane-roles': [...route.roles] }),
  };
}

export function buildOpenApiDocument(routes: readonly RouteInfo[], info: OpenApiInfo): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();
  for (const route of routes) {
    const method = route.method.toLowerCase();
    const item = (paths[route.openApiPath] ??= {});
    if (item[method]) throw new Error(`two routes declare ${route.method} ${route.path}`);
    if (operationIds.has(route.operationId)) throw new Error(`two routes share operationId ${route.operationId}`);
    operationIds.add(route.operationId);
    item[method] = operation(route);
  }
  const tags = [...new Set(routes.flatMap((r) => r.spec.tags))].sort().map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, ...(info.description && { description: info.description }) },
    tags,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: { Error: toJsonSchema(ErrorBody, 'Error') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /auth/login (built-in identity provider) or from the OIDC provider.' } },
    },
  };
}
