/**
 * @deskplane/desktop-operator — reconciles Deskplane resources: KvmHost heartbeats,
 * VirtualDesktop scheduling and provisioning hand-off, DesktopMigration targets,
 * DesktopPolicy validation and resolution; plus the pure scheduler they use.
 *
 * @example
 * ```ts
 * import { EmbeddedStore } from '@deskplane/resource-store';
 * import { Manager, MemoryJobQueue, deskplaneSchemas, configFromEnv } from '@deskplane/desktop-operator';
 *
 * const config = configFromEnv({ DESKPLANE_OPERATOR_BACKEND: 'embedded', DESKPLANE_OPERATOR_DATA_DIR: '/tmp/dp', DESKPLANE_OPERATOR_REDIS_URL: 'redis://127.0.0.1:6379' });
 * const manager = new Manager({
 *   store: new EmbeddedStore({ schemas: deskplaneSchemas() }),
 *   jobs: new MemoryJobQueue(),
 *   probe: { getHostInfo: () => Promise.reject(new Error('no agents here')), close() {} },
 *   config: { ...config, metrics: undefined },
 * });
 * await manager.start();       // becomes leader (the only replica), reconciles
 * await manager.stop();
 * ```
 *
 * The scheduler alone:
 * ```ts
 * import { schedule } from '@deskplane/desktop-operator';
 * const result = schedule(desktopRequest, hostCandidates, { strategy: 'binPack' });
 * console.log(result.ok ? `place on ${result.host}` : result.message); // "0/1 hosts available: 1 insufficient memory"
 * ```
 */
export * from './scheduler';
export { Manager, type ManagerConfig, type ManagerOptions } from './manager';
export { configFromEnv, parseLabels, type OperatorConfig, type AgentTlsConfig } from './config';
export { deskplaneSchemas, openStore, openJobQueue } from './backends';
export { OperatorMetrics, startMetricsServer } from './metrics';
export { createLogger, type Logger } from './log';
export * from './errors';
export { RESOURCE_TYPES, keyOf, splitKey } from './resources';
export { Controller, TerminalError, type Reconcile, type ReconcileResult, type ReconcileOutcome } from './runtime/controller';
export { WorkQueue } from './runtime/work-queue';
export { RateLimiter, DEFAULT_RATE_LIMITER, type RateLimiterOptions } from './runtime/rate-limiter';
export { GrpcHostAgentProbe, type HostAgentProbe, type AgentHostInfo } from './controllers/kvm-host/probe';
export { decideHostStatus, HostCondition, HostReason } from './controllers/kvm-host/decide';
export { decidePlacement, decideDeletion, DesktopReason } from './controllers/virtual-desktop/decide';
export { decideRunStrategy, HANDS_OFF_PHASES } from './controllers/virtual-desktop/run-strategy';
export { decideHostHealth, HostHealthReason } from './controllers/virtual-desktop/host-health';
export { EVICTIONS_ANNOTATION } from './controllers/virtual-desktop/jobs';
export { planDrain, DRAIN_LABEL, drainLabelValue, drainMigrationName } from './controllers/kvm-host/drain';
export { decideMigration, decideMigrationDeletion, MigrationInvalidReason, MigrationAbortReason } from './controllers/desktop-migration/decide';
export { resolveEffectivePolicy, bindingOf, POLICY_VALID, type EffectivePolicy, type Binding } from './controllers/desktop-policy/resolve';
export { validatePolicy, type PolicyIssue } from './controllers/desktop-policy/validate';
export { MemoryJobQueue } from './testing/memory-job-queue';
export { operatorTasks, type OperatorTasks } from './tasks';
export type { PeriodicTask, OperatorView } from './runtime/periodic';
export * from './activity';
export * from './consolidation';
export { decidePool, type PoolDecision } from './controllers/desktop-pool/decide';
export { effectiveWarm } from './controllers/desktop-pool/schedule';
