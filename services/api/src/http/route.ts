import { createParamDecorator, RequestMapping, RequestMethod, Res, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller, Role } from '../domain/caller';
import { callerOf } from './caller-store';
import { Hijacked, sendResult, successStatus, type Responded } from './respond';

export { Hijacked, Responded, respond, successStatus } from './respond';
import { validatePart } from './validation';

/**
 * The route mechanism every controller uses. One decorator per handler declares the HTTP
 * method and path, the OpenAPI summary and tags, who may call it, and TypeBox schemas for
 * params, query, body and every response. From that one declaration:
 * - Nest routes it (the class needs `@Controller()` with no prefix: paths here are whole);
 * - the auth guard lets it through (public, or a valid token holding one of `roles`);
 * - the validation pipe checks params/query/body and hands the handler a typed context;
 * - the handler's return value is sent with the declared success status (and checked
 *   against its schema when `validateResponses` is on);
 * - the OpenAPI document describes it, and `listRoutes()` enumerates it.
 *
 * @example
 * const getDesktop = route({
 *   method: 'GET', path: '/desktops/:name', summary: 'One of my desktops', tags: ['desktops'],
 *   params: Type.Object({ name: Type.String() }),
 *   response: { 200: DesktopView }, errors: [404],
 * });
 * @Controller()
 * export class DesktopsController {
 *   constructor(@Inject(API_DEPS) private readonly deps: DesktopDeps) {}
 *   @Route(getDesktop)
 *   get({ params, caller }: RouteContext<typeof getDesktop>) { return this.deps.desktops.get(caller, params.name); }
 * }
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A response other than JSON, or one with a description of its own. `schema: null` = no body. */
export interface ResponseSpec {
  schema: TSchema | null;
  /** Default application/json. */
  contentType?: string;
  description?: string;
}
/** A schema (JSON body), a ResponseSpec, or null (no body, e.g. 204). */
export type ResponseDecl = TSchema | ResponseSpec | null;

export interface RouteSpec {
  method: HttpMethod;
  /** Fastify/Nest style: `/desktops/:name`. Every `:param` needs a property in `params`. */
  path: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** Default `<controller>.<method>`, e.g. `desktops.get`. */
  operationId?: string;
  /** No token needed (health, docs, login). Default false: a valid bearer token is required. */
  public?: boolean;
  /** The caller needs at least one of these. Undefined = any authenticated caller (every caller has 'user'). */
  roles?: readonly Role[];
  params?: TObject;
  query?: TObject;
  body?: TSchema;
  /** Exactly one 2xx entry (the success response); other statuses the handler may pick with `respond()`. */
  response: Readonly<Record<number, ResponseDecl>>;
  /** Error statuses this route can answer beyond the automatic ones (400, 401, 403, 429, 500), e.g. [404, 409]. */
  errors?: readonly number[];
}

type Part<T> = T extends TSchema ? Static<T> : Record<string, never>;
type BodyOf<D> = D extends null ? void : D extends { schema: infer S } ? (S extends TSchema ? Static<S> : void) : D extends TSchema ? Static<D> : never;
type SuccessKey = 200 | 201 | 202 | 203 | 204 | 206;

/** What a handler may return: the success body, or `respond(status, body)` for another declared status. */
export type RouteResult<S extends RouteSpec> = { [K in keyof S['response'] & SuccessKey]: BodyOf<S['response'][K]> }[keyof S['response'] & SuccessKey] | Responded | Hijacked;

/** What a handler receives: validated and typed params, query and body, and who calls. */
export interface RouteContext<S extends RouteSpec = RouteSpec> {
  params: Part<S['params']>;
  query: Part<S['query']>;
  body: Part<S['body']>;
  /** Undefined only on public routes. */
  caller: S['public'] extends true ? Caller | undefined : Caller;
  requestId: string;
  /** The client address (behind a trusted proxy: the forwarded one). */
  ip: string;
  request: FastifyRequest;
  /** For headers (`reply.header(...)`). */
  reply: FastifyReply;
  /**
   * Takes the reply over (server-sent events, other streams): write `reply.raw` yourself and
   * return what this returns. The x-request-id header is not set on a hijacked reply.
   */
  hijack: () => Hijacked;
}

/** Identity, so `typeof spec` keeps the literal types the context is computed from. */
export function route<const S extends RouteSpec>(spec: S): S {
  return spec;
}

export interface RouteInfo {
  controller: string;
  handler: string;
  method: HttpMethod;
  path: string;
  /** `/desktops/{name}`. */
  openApiPath: string;
  operationId: string;
  public: boolean;
  roles?: readonly Role[];
  spec: RouteSpec;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- classes of any shape are keys here
const byController = new Map<Function, RouteInfo[]>();
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
const byHandler = new WeakMap<Function, RouteInfo>();

/** The route a Nest handler function was declared with (the guard and the error filter ask). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function routeOf(handler: Function): RouteInfo | undefined {
  return byHandler.get(handler);
}

/**
 * Routes declared with @Route: those of `controllers`, or every one loaded in this process.
 * Tests enumerate them (e.g. to check tenant isolation on every route); a running app's own
 * list is `ApiApp.routes`.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function listRoutes(controllers?: readonly Function[]): RouteInfo[] {
  const classes = controllers ?? [...byController.keys()];
  return classes.flatMap((c) => byController.get(c) ?? []);
}

export const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
export const pathParams = (path: string): string[] => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);

/** Throws when the declaration cannot be honoured, so a bad route stops the start, not a request. */
function checkSpec(spec: RouteSpec): void {
  const at = `route ${spec.method} ${spec.path}`;
  if (!spec.path.startsWith('/')) throw new Error(`${at}: path must start with /`);
  if (!spec.summary.trim()) throw new Error(`${at}: summary is required`);
  if (spec.tags.length === 0) throw new Error(`${at}: at least one tag is required`);
  successStatus(spec);
  const declared = Object.keys(spec.params?.properties ?? {});
  for (const p of pathParams(spec.path)) if (!declared.includes(p)) throw new Error(`${at}: path parameter :${p} has no schema in params`);
  for (const p of declared) if (!pathParams(spec.path).includes(p)) throw new Error(`${at}: params.${p} is not in the path`);
  if (spec.body && (spec.method === 'GET' || spec.method === 'DELETE')) throw new Error(`${at}: ${spec.method} takes no body`);
  for (const status of spec.errors ?? []) if (status < 400 || status > 599) throw new Error(`${at}: errors lists ${status}, not an error status`);
}

interface RawContext {
  request: FastifyRequest;
  reply: FastifyReply;
}

const RawRouteContext = createParamDecorator((_data: unknown, ctx: ExecutionContext): RawContext => {
  const http = ctx.switchToHttp();
  return { request: http.getRequest<FastifyRequest>(), reply: http.getResponse<FastifyReply>() };
});

/** Validates params, query and body against the route's schemas and builds the handler's context. */
export class RouteValidationPipe implements PipeTransform<RawContext, RouteContext> {
  constructor(private readonly spec: RouteSpec) {}

  transform({ request, reply }: RawContext): RouteContext {
    const s = this.spec;
    return {
      params: (s.params ? validatePart('params', s.params, request.params) : {}) as Record<string, never>,
      query: (s.query ? validatePart('query', s.query, request.query) : {}) as Record<string, never>,
      body: (s.body ? validatePart('body', s.body, request.body) : {}),
      caller: callerOf(request),
      requestId: request.id,
      ip: request.ip,
      request,
      reply,
      hijack: () => {
        reply.hijack();
        return new Hijacked();
      },
    };
  }
}

/** Declares a route; see the module comment. */
export function Route<const S extends RouteSpec>(spec: S) {
  checkSpec(spec);
  return <H extends (ctx: RouteContext<S>) => RouteResult<S> | Promise<RouteResult<S>>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<H>): void => {
    const handler = descriptor.value;
    if (typeof handler !== 'function') throw new Error(`@Route on ${String(key)}: not a method`);
    const controller = target.constructor;
    const name = controller.name.replace(/Controller$/, '');
    const info: RouteInfo = {
      controller: controller.name,
      handler: String(key),
      method: spec.method,
      path: spec.path,
      openApiPath: toOpenApiPath(spec.path),
      operationId: spec.operationId ?? `${name.charAt(0).toLowerCase()}${name.slice(1)}.${String(key)}`,
      public: spec.public === true,
      ...(spec.roles && { roles: spec.roles }),
      spec,
    };
    // Nest gets a wrapper that sends the result itself (Nest's own send would force one
    // status per route); the handler keeps the single-context signature.
    const wrapper = async function (this: unknown, ctx: RouteContext<S>, reply: FastifyReply): Promise<void> {
      const result = await (handler as (c: RouteContext<S>) => unknown).call(this, ctx);
      sendResult(info, reply, result);
    };
    Object.defineProperty(wrapper, 'name', { value: String(key) });
    descriptor.value = wrapper as unknown as H;
    byHandler.set(wrapper, info);
    RequestMapping({ path: spec.path, method: RequestMethod[spec.method] })(target, key, descriptor);
    RawRouteContext(new RouteValidationPipe(spec))(target, key, 0);
    Res()(target, key, 1);
    const list = byController.get(controller) ?? [];
    list.push(info);
    byController.set(controller, list);
  };
}
