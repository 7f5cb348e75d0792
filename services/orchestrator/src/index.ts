/**
 * @deskplane/orchestrator — BullMQ workers that turn the operator's decisions into work on
 * KVM hosts through their agents: provision, start, stop, deprovision, live migration.
 *
 * @example
 * ```ts
 * import { configFromEnv, startOrchestrator } from '@deskplane/orchestrator';
 * const config = configFromEnv({ DESKPLANE_ORCHESTRATOR_REDIS_URL: 'redis://127.0.0.1:6379', KUBECONFIG: '/etc/deskplane/kubeconfig' });
 * const orchestrator = await startOrchestrator({ config });
 * // … SIGTERM:
 * await orchestrator.close();   // jobs in flight finish first
 * ```
 */
export { startOrchestrator, openStore, type OrchestratorOptions, type RunningOrchestrator } from './orchestrator';
export { configFromEnv, redisOptions, ConfigError, type OrchestratorConfig } from './config';
export * from './errors';
export { GrpcHostAgents, type HostAgent, type HostAgents, type AgentTlsConfig } from './agents';
export { kubernetesSecretStore, embeddedSecretStore, generatePassword, secretName, SECRET_TYPE, type ConsoleSecretStore } from './secrets';
export { RedisMigrationSlots, DEFAULT_SLOT_LIMITS, type MigrationSlots, type SlotLimits } from './slots';
export { Workers, PROCESSORS, type Processor } from './worker';
export { NO_GATEWAY_HOOKS, DEFAULT_TIMING, type MigrationHooks, type ProcessorDeps, type SlotEvent, type Timing } from './processors/context';
export { DriftRepair, type DriftRepairOptions, type DriftPassResult } from './drift/drift-repair';
export { decideDrift, type DriftAction, type DriftInput, type DriftPlan } from './drift/decide';
export { RedisDriftState, MemoryDriftState, type DriftState } from './drift/drift-state';
export { repairJob, repairJobId, isRepairJobId, REPAIRS_ANNOTATION } from './drift/repair-job';
export { retryFailedJobs } from './retry';
export { OrchestratorMetrics } from './metrics';
export { createLogger } from './log';
