/**
 * @deskplane/api-server — the Deskplane REST API (NestJS on Fastify).
 *
 * @example
 * import { EmbeddedStore } from '@deskplane/resource-store';
 * import { apiSchemas, InProcessGatewayAccess, parseConfig, startApi } from '@deskplane/api-server';
 *
 * const config = parseConfig({ DESKPLANE_API_USERS_FILE: './users.json', DESKPLANE_API_LISTEN: '127.0.0.1:0', DESKPLANE_API_GATEWAY_HOST: '127.0.0.1' });
 * const store = new EmbeddedStore({ schemas: apiSchemas() });
 * const api = await startApi({ config, store, gateway: new InProcessGatewayAccess({ gateway, tickets }) });
 * const token = await api.testToken({ user: 'alice', tenant: 'team-a' });
 * const desktops = await fetch(`${api.url}/desktops`, { headers: { authorization: `Bearer ${token}` } });
 * await api.close();
 */
export { createApiApp, type ApiApp, type ApiAppOptions } from './http/app';
export { startTestApi, type TestApiOptions } from './http/testing';
export { API_DEPS, API_RUNTIME, type ApiDeps, type ApiRuntime, type ReadinessCheck } from './http/deps';
export { Route, route, respond, Responded, listRoutes, type RouteSpec, type RouteContext, type RouteInfo, type RouteResult, type ResponseSpec, type ResponseDecl, type HttpMethod } from './http/route';
export { RateLimiter, type RateLimiterOptions, type Take } from './http/rate-limiter';
export { buildOpenApiDocument, type OpenApiDocument } from './http/openapi';
export { checkOpenApiDocument } from './http/openapi-check';
export { toErrorResponse, type ErrorBodyShape } from './http/error-filter';
export { ErrorBody } from './http/schemas';
export { createApiLogger, REDACT_PATHS } from './http/observability';
export { parseConfig, ConfigError, type ApiConfig } from './config';
export { hashPassword, verifyPassword } from './auth/passwords';
export { BuiltinIdp, type TokenPair } from './auth/builtin-idp';
export { TokenVerifier, oidcIssuer, type TrustedIssuer, type ClaimMapping } from './auth/verifier';
export { testToken, testCaller, type CallerInit } from './auth/test-token';
export type { Caller, Role } from './domain/caller';
export { ApiError, BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooManyRequests } from './domain/errors';
export { buildApi, startApi, CombinedAuditReader, sessionAuditEntry, type BuildApiOptions, type BuiltApi } from './wiring';
export { DOMAIN_CONTROLLERS, DesktopsController, ConsolesController, PoolsController, TenantController, OpsController, TenantPolicies, type DomainDeps, type PolicyView } from './http/controllers';
export type { PlatformConfig } from './config';
export {
  apiSchemas,
  API_RESOURCE_TYPES,
  Desktops,
  Templates,
  Tenants,
  Consoles,
  Pools,
  PoolMetrics,
  Sessions,
  Ops,
  InProcessGatewayAccess,
  GrpcGatewayAccess,
  MemoryAuditLog,
  BullQueueStats,
  Unavailable,
  type GatewayAccess,
  type ConsoleConfig,
  type DesktopView,
  type DesktopEvent,
  type AuditEntry,
  type AuditReader,
} from './domain';
export { RedisAuditReader, type AuditRecord } from './audit/redis-audit';
