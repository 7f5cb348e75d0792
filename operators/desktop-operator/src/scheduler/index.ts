export * from './types';
export { schedule, scheduleBatch, formatUnschedulableMessage } from './schedule';
export {
  FILTER_ORDER,
  runFilters,
  selectorMatches,
  reasonSummary,
  reasonDetail,
  filterReady,
  filterMaintenance,
  filterSchedulable,
  filterExcluded,
  filterHostSelector,
  filterAntiAffinity,
  filterMaxGuests,
  filterCpu,
  filterMemory,
  filterDisk,
  type Filter,
} from './filters';
export { binPackScore, spreadScore, consolidateScore, combinedScore, utilization } from './scores';
export {
  resolveConfig,
  prepareHost,
  prepareHosts,
  prepareRequest,
  commit,
  toCandidate,
  type PreparedHost,
  type PreparedRequest,
  type PreparedRequirement,
  type ResolvedConfig,
} from './prepared';
export * from './errors';
