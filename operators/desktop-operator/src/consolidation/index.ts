export { planConsolidation, type ConsolidationDesktop, type ConsolidationInput, type ConsolidationLimits, type ConsolidationPlan, type InFlightMigration, type LeftAlone, type LeftAloneReason, type Move } from './plan';
export { plannerObjects, migrationFor, migrationName, isConsolidation, REASON_LABEL, CONSOLIDATION_REASON, DEFAULT_MIGRATION_POLICY } from './input';
export { consolidationTask, type ConsolidationTaskOptions, type PresenceReader, type PresenceBatchReader } from './task';
