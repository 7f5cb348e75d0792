import type { PreparedHost, PreparedRequest, ResolvedConfig } from './prepared';

/**
 * Scores: pure functions `(request, feasible host, config) → 0..100`, computed on the
 * host's utilisation AFTER the desktop would be placed there, per resource
 * `u = (used + requested) / allocatable`, clamped to [0, 1] (a resource with nothing
 * allocatable counts as full).
 *
 * Note: spread = 100 − binPack, so a blend ranks hosts exactly like whichever of the two
 * has the larger weight (equal weights rank every host 50 and the name decides). The
 * weights are there so that a later, non-linear score (balanced allocation, guest count)
 * can be blended in without changing the config shape.
 */
export function utilization(used: number, requested: number, allocatable: number): number {
  if (!(allocatable > 0)) return 1;
  const u = (used + requested) / allocatable;
  return u <= 0 ? 0 : u >= 1 ? 1 : u;
}

/** Most-allocated: the fuller the host after placement, the higher (packs desktops onto few hosts). */
export function binPackScore(req: PreparedRequest, host: PreparedHost, config: ResolvedConfig): number {
  const cpu = utilization(host.usedCpu, req.vcpus, host.allocatableCpu);
  const memory = utilization(host.usedMemory, req.memoryBytes, host.allocatableMemory);
  return 100 * (config.cpuWeight * cpu + config.memoryWeight * memory);
}

/** Least-allocated: the emptier the host after placement, the higher (spreads load and blast radius). */
export function spreadScore(req: PreparedRequest, host: PreparedHost, config: ResolvedConfig): number {
  const cpu = utilization(host.usedCpu, req.vcpus, host.allocatableCpu);
  const memory = utilization(host.usedMemory, req.memoryBytes, host.allocatableMemory);
  return 100 * (config.cpuWeight * (1 - cpu) + config.memoryWeight * (1 - memory));
}

/**
 * Fewest hosts in use: how much the host holds after placement, measured against the
 * fleet's LARGEST host rather than its own size. binPack's per-host fullness fills small
 * hosts first and so opens many of them (2.8× first-fit-decreasing's hosts on a mixed
 * fleet, bench/scheduler); absolute fullness keeps adding to hosts already in use and,
 * among empty hosts, prefers the largest (the 1-point size term), as FFD does.
 */
export function consolidateScore(req: PreparedRequest, host: PreparedHost, config: ResolvedConfig): number {
  const cpu = utilization(host.usedCpu, req.vcpus, host.fleetCpu);
  const memory = utilization(host.usedMemory, req.memoryBytes, host.fleetMemory);
  const size = config.cpuWeight * fraction(host.allocatableCpu, host.fleetCpu) + config.memoryWeight * fraction(host.allocatableMemory, host.fleetMemory);
  return 99 * (config.cpuWeight * cpu + config.memoryWeight * memory) + size;
}

function fraction(a: number, b: number): number {
  return b > 0 ? Math.min(1, a / b) : 0;
}

/** The weighted blend of the scores (weights normalised to sum 1), 0..100. */
export function combinedScore(req: PreparedRequest, host: PreparedHost, config: ResolvedConfig): number {
  let score = 0;
  if (config.binPackWeight > 0) score += config.binPackWeight * binPackScore(req, host, config);
  if (config.spreadWeight > 0) score += config.spreadWeight * spreadScore(req, host, config);
  if (config.consolidateWeight > 0) score += config.consolidateWeight * consolidateScore(req, host, config);
  return score;
}
