/**
 * The API's business rules, free of any framework: each class takes a deps object and
 * every method takes the authenticated `Caller` first. Errors are `ApiError`s (errors.ts).
 *
 * @example
 * import { EmbeddedStore } from '@deskplane/resource-store';
 * import { apiSchemas, Desktops, Templates, Tenants } from './domain';
 * const store = new EmbeddedStore({ schemas: apiSchemas() });
 * const tenants = new Tenants({ store });
 * const desktops = new Desktops({ store, templates: new Templates({ store }), tenants });
 * const alice = { subject: 'alice', user: 'alice', tenant: 'team-a', groups: [], roles: new Set(['user'] as const) };
 * await desktops.create(alice, { name: 'dev', template: 'debian-xfce' }); // 409 Conflict naming the quota when it does not fit
 */
export * from './caller';
export * from './errors';
export { Unavailable } from './unavailable';
export { isOps, isTenantAdmin, type AuditSink } from './access';
export { API_RESOURCE_TYPES, apiSchemas, type DesktopObject, type HostObject, type MigrationObject, type PoolObject, type TemplateObject, type TenantObject } from './resources';
export { Desktops, type DesktopsDeps, type CreateDesktop } from './desktops';
export type { DesktopView } from './desktop-view';
export type { DesktopEvent } from './desktop-feed';
export { Templates, DEFAULT_SHARED_NAMESPACE, SHARED_COPY_LABEL, type TemplateView, type TemplatesDeps } from './templates';
export { Tenants, isAdminByBinding, applyQuotaChange, type TenantView, type QuotaView, type QuotaChange, type TenantsDeps } from './tenants';
export { exceeded, usageOf, type Usage } from './quota';
export { Consoles, browserUrl, type ConsoleConfig, type ConsoleKind, type ConsoleResult, type ConsolesDeps } from './consoles';
export { InProcessGatewayAccess, GrpcGatewayAccess, type GatewayAccess, type GatewaySession, type SessionFilter, type TicketRequest, type InProcessGatewayOptions } from './gateway-access';
export { Pools, mayClaim, CLAIMED_AT_ANNOTATION, RECYCLE_ANNOTATION, type PoolView, type PoolClaim, type PoolConsole, type PoolsDeps, type PoolMetricsSink, type ClaimResult, type ClaimOutcome } from './pools';
export { PoolMetrics, TIME_TO_CONSOLE_BUCKETS } from './pool-metrics';
export { Sessions, type SessionQuery, type SessionView, type SessionsDeps } from './sessions';
export { Ops, MAX_AUDIT_LIMIT, type HostView, type MigrationView, type StartMigration, type OpsDeps } from './ops';
export { BullQueueStats, JOB_STATES, type QueueStats, type QueueCounts, type BullQueueStatsOptions } from './queue-stats';
export { MemoryAuditLog, type AuditEntry, type AuditQuery, type AuditReader } from './audit';
