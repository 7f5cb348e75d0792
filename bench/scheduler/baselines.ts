/**
 * Baselines the scheduler is compared with in the same run: a plain first-fit-decreasing
 * packing (same feasibility rules, different choice rule) and a volume lower bound on the
 * number of hosts any packing needs.
 */
import {
  commit,
  prepareHosts,
  prepareRequest,
  resolveConfig,
  runFilters,
  type DesktopRequest,
  type HostCandidate,
  type SchedulerConfig,
} from '@deskplane/desktop-operator';

/** Usable hosts: Ready, schedulable, not in maintenance. */
export const usable = (h: HostCandidate): boolean => h.ready && h.schedulable && !h.maintenance;

const allocatable = (h: HostCandidate) => ({
  vcpus: Math.floor(h.capacity.vcpus * h.overcommit.cpu),
  memoryBytes: Math.floor(h.capacity.memoryBytes * h.overcommit.memory),
  diskBytes: h.capacity.diskBytes,
});

/**
 * Size key for "decreasing": the sum of a desktop's demands, each normalised by the mean
 * allocatable amount of a usable host (FFDSum, the usual key for vector bin packing).
 */
export function sizeKey(hosts: readonly HostCandidate[]): (d: DesktopRequest) => number {
  const u = hosts.filter(usable).map(allocatable);
  const mean = (f: (a: ReturnType<typeof allocatable>) => number) => u.reduce((s, a) => s + f(a), 0) / Math.max(1, u.length);
  const [c, m, k] = [mean((a) => a.vcpus), mean((a) => a.memoryBytes), mean((a) => a.diskBytes)];
  return (d) => d.vcpus / c + d.memoryBytes / m + d.diskBytes / k;
}

/** Desktops by decreasing size; ties keep arrival order (Array.prototype.sort is stable). */
export function decreasing(desktops: readonly DesktopRequest[], hosts: readonly HostCandidate[]): DesktopRequest[] {
  const key = sizeKey(hosts);
  return desktops.map((d) => [key(d), d] as const).sort((a, b) => b[0] - a[0]).map(([, d]) => d);
}

/**
 * First-fit decreasing: desktops largest first, hosts largest first (allocatable memory,
 * then vCPUs, then name); each desktop goes to the first host that passes every filter
 * (the scheduler's own `runFilters`, so the constraints are identical).
 */
export function firstFitDecreasing(
  desktops: readonly DesktopRequest[],
  hosts: readonly HostCandidate[],
  config: SchedulerConfig,
): { hostsUsed: number; usedMemory: number; placedMemory: number; unschedulable: number } {
  const prepared = prepareHosts(hosts, resolveConfig(config)).sort(
    (a, b) => b.allocatableMemory - a.allocatableMemory || b.allocatableCpu - a.allocatableCpu || (a.name < b.name ? -1 : 1),
  );
  let unschedulable = 0;
  for (const d of decreasing(desktops, hosts)) {
    const req = prepareRequest(d);
    const host = prepared.find((h) => runFilters(req, h) === undefined);
    if (host) commit(host, req);
    else unschedulable++;
  }
  const used = prepared.filter((h) => h.added.length > 0);
  return {
    hostsUsed: used.length,
    usedMemory: used.reduce((s, h) => s + h.allocatableMemory, 0),
    placedMemory: used.reduce((s, h) => s + h.usedMemory, 0),
    unschedulable,
  };
}

/**
 * Volume (L1) lower bound for heterogeneous hosts: for each resource, the fewest usable
 * hosts whose summed allocatable amount covers the total demand, taking the largest hosts
 * first; plus ceil(desktops / max guests per host). The bound is the maximum of these. It
 * relaxes selectors, anti-affinity and item boundaries, so no packing can beat it.
 */
export function lowerBound(
  desktops: readonly DesktopRequest[],
  hosts: readonly HostCandidate[],
  maxGuestsPerHost: number,
): { bound: number; cpu: number; memory: number; disk: number; guests: number } {
  const u = hosts.filter(usable).map(allocatable);
  const fewest = (demand: number, amounts: number[]): number => {
    amounts.sort((a, b) => b - a);
    let sum = 0;
    for (let i = 0; i < amounts.length; i++) if ((sum += amounts[i]!) >= demand) return i + 1;
    return Infinity;
  };
  const total = (f: (d: DesktopRequest) => number) => desktops.reduce((s, d) => s + f(d), 0);
  const cpu = fewest(total((d) => d.vcpus), u.map((a) => a.vcpus));
  const memory = fewest(total((d) => d.memoryBytes), u.map((a) => a.memoryBytes));
  const disk = fewest(total((d) => d.diskBytes), u.map((a) => a.diskBytes));
  const guests = Math.ceil(desktops.length / maxGuestsPerHost);
  return { bound: Math.max(cpu, memory, disk, guests), cpu, memory, disk, guests };
}
