import type { PreparedHost, PreparedRequest } from './prepared';
import type { ReasonCode } from './types';

/**
 * Filters: pure functions `(request, host) → undefined (pass) | ReasonCode`. They never
 * allocate on either path, because `schedule` runs them for every host of every desktop.
 * A host's reason is its FIRST failing filter in `FILTER_ORDER` (like kube-scheduler's
 * per-node status): host conditions first (about the host, whoever asks), then what the
 * request excludes or requires of the host, then capacity.
 */
export type Filter = (req: PreparedRequest, host: PreparedHost) => ReasonCode | undefined;

export const filterReady: Filter = (_req, host) => (host.ready ? undefined : 'NotReady');

export const filterMaintenance: Filter = (_req, host) => (host.maintenance ? 'Maintenance' : undefined);

export const filterSchedulable: Filter = (_req, host) => (host.schedulable ? undefined : 'Unschedulable');

export const filterExcluded: Filter = (req, host) =>
  req.excluded !== undefined && req.excluded.has(host.name) ? 'Excluded' : undefined;

/** True when the host's labels satisfy the request's matchLabels and matchExpressions. */
export function selectorMatches(req: PreparedRequest, labels: Readonly<Record<string, string>>): boolean {
  // Index loops: no iterator or destructuring allocation per host.
  const ml = req.matchLabels;
  for (let i = 0; i < ml.length; i++) {
    const [key, value] = ml[i]!;
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  const me = req.matchExpressions;
  for (let i = 0; i < me.length; i++) {
    const e = me[i]!;
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In':
        if (!has || !e.values.has(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && e.values.has(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

export const filterHostSelector: Filter = (req, host) =>
  (req.matchLabels.length === 0 && req.matchExpressions.length === 0) || selectorMatches(req, host.labels)
    ? undefined
    : 'NodeSelectorMismatch';

export const filterAntiAffinity: Filter = (req, host) => {
  if (req.antiAffinityKey === undefined) return undefined;
  const index = req.antiAffinityOn === 'owner' ? host.owners : host.pools;
  return index.has(req.antiAffinityKey) ? 'AntiAffinity' : undefined;
};

export const filterMaxGuests: Filter = (_req, host) => (host.guestCount + 1 > host.maxGuests ? 'TooManyGuests' : undefined);

export const filterCpu: Filter = (req, host) =>
  host.usedCpu + req.vcpus > host.allocatableCpu ? 'InsufficientCPU' : undefined;

export const filterMemory: Filter = (req, host) =>
  host.usedMemory + req.memoryBytes > host.allocatableMemory ? 'InsufficientMemory' : undefined;

export const filterDisk: Filter = (req, host) =>
  host.usedDisk + req.diskBytes > host.allocatableDisk ? 'InsufficientDisk' : undefined;

/** The fixed order filters run in; a host's reason is the first that fails. */
export const FILTER_ORDER: ReadonlyArray<{ readonly code: ReasonCode; readonly filter: Filter }> = [
  { code: 'NotReady', filter: filterReady },
  { code: 'Maintenance', filter: filterMaintenance },
  { code: 'Unschedulable', filter: filterSchedulable },
  { code: 'Excluded', filter: filterExcluded },
  { code: 'NodeSelectorMismatch', filter: filterHostSelector },
  { code: 'AntiAffinity', filter: filterAntiAffinity },
  { code: 'TooManyGuests', filter: filterMaxGuests },
  { code: 'InsufficientCPU', filter: filterCpu },
  { code: 'InsufficientMemory', filter: filterMemory },
  { code: 'InsufficientDisk', filter: filterDisk },
];

/**
 * Runs every filter in `FILTER_ORDER`; undefined when the host passes them all. Written as
 * direct calls rather than a loop over `FILTER_ORDER` so V8 can inline them in the hot
 * loop; a unit test checks both agree.
 */
export function runFilters(req: PreparedRequest, host: PreparedHost): ReasonCode | undefined {
  return (
    filterReady(req, host) ??
    filterMaintenance(req, host) ??
    filterSchedulable(req, host) ??
    filterExcluded(req, host) ??
    filterHostSelector(req, host) ??
    filterAntiAffinity(req, host) ??
    filterMaxGuests(req, host) ??
    filterCpu(req, host) ??
    filterMemory(req, host) ??
    filterDisk(req, host)
  );
}

const GIB = 1024 ** 3;

/** Bytes as GiB, at most two decimals: "4 GiB", "1.5 GiB". */
export function formatGiB(bytes: number): string {
  return `${Math.round((bytes / GIB) * 100) / 100} GiB`;
}

/**
 * The text a code stands for in the aggregated message. It depends on the request only
 * (never on the host), so equal codes aggregate into one entry.
 */
export function reasonSummary(code: ReasonCode, req: PreparedRequest): string {
  switch (code) {
    case 'NotReady':
      return 'not ready';
    case 'Maintenance':
      return 'in maintenance';
    case 'Unschedulable':
      return 'unschedulable';
    case 'Excluded':
      return 'excluded by request';
    case 'NodeSelectorMismatch':
      return "didn't match host selector";
    case 'AntiAffinity':
      return `anti-affinity with another desktop of ${req.antiAffinityOn ?? 'owner'} ${req.antiAffinityKey ?? req.owner}`;
    case 'TooManyGuests':
      return 'too many guests';
    case 'InsufficientCPU':
      return 'insufficient cpu';
    case 'InsufficientMemory':
      return 'insufficient memory';
    case 'InsufficientDisk':
      return 'insufficient disk';
  }
}

/** The per-host text: the summary plus what this host has. */
export function reasonDetail(code: ReasonCode, req: PreparedRequest, host: PreparedHost): string {
  switch (code) {
    case 'AntiAffinity': {
      const on = req.antiAffinityOn ?? 'owner';
      const other = (on === 'owner' ? host.owners : host.pools).get(req.antiAffinityKey ?? '') ?? '?';
      return `anti-affinity with desktop ${other} of ${on} ${req.antiAffinityKey ?? ''}`;
    }
    case 'TooManyGuests':
      return `too many guests (${host.guestCount} of at most ${host.maxGuests})`;
    case 'InsufficientCPU':
      return `insufficient cpu (requested ${req.vcpus} vCPUs, ${host.allocatableCpu - host.usedCpu} of ${host.allocatableCpu} free)`;
    case 'InsufficientMemory':
      return `insufficient memory (requested ${formatGiB(req.memoryBytes)}, ${formatGiB(host.allocatableMemory - host.usedMemory)} of ${formatGiB(host.allocatableMemory)} free)`;
    case 'InsufficientDisk':
      return `insufficient disk (requested ${formatGiB(req.diskBytes)}, ${formatGiB(host.allocatableDisk - host.usedDisk)} of ${formatGiB(host.allocatableDisk)} free)`;
    default:
      return reasonSummary(code, req);
  }
}
