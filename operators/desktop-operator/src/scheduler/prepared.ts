import { SchedulerConfigError, SchedulerInputError } from './errors';
import type { DesktopRequest, GuestRef, HostCandidate, SchedulerConfig, SelectorOperator } from './types';

/**
 * The scheduler's working form of a host: allocatable and used amounts flattened into
 * numbers, owners and pools indexed, so that a filter is a few comparisons and a map
 * lookup. Built fresh from a `HostCandidate` for every `schedule` / `scheduleBatch` call;
 * only `scheduleBatch` advances it (on its own copy).
 */
export interface PreparedHost {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ready: boolean;
  readonly schedulable: boolean;
  readonly maintenance: boolean;
  /** floor(capacity × overcommit) for CPU and memory; capacity for disk. */
  readonly allocatableCpu: number;
  readonly allocatableMemory: number;
  readonly allocatableDisk: number;
  /** The fleet's largest allocatable CPU and memory (set by prepareHosts): consolidate measures against them. */
  fleetCpu: number;
  fleetMemory: number;
  usedCpu: number;
  usedMemory: number;
  usedDisk: number;
  guestCount: number;
  /** Infinity when unlimited. */
  readonly maxGuests: number;
  /** owner → one of its desktops on this host (for the message). */
  readonly owners: Map<string, string>;
  /** pool → one of its desktops on this host. */
  readonly pools: Map<string, string>;
  readonly source: HostCandidate;
  /** Guests added by this call, in order. */
  readonly added: GuestRef[];
}

export interface PreparedRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: ReadonlySet<string>;
}

/** The scheduler's working form of a desktop request. */
export interface PreparedRequest {
  readonly desktop: DesktopRequest;
  /** `namespace/name`. */
  readonly id: string;
  readonly vcpus: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly owner: string;
  /** Key checked by anti-affinity in the owners map ('owner') or pools map ('pool'); undefined = none. */
  readonly antiAffinityKey: string | undefined;
  readonly antiAffinityOn: 'owner' | 'pool' | undefined;
  /** undefined when nothing is excluded (the common case, no Set lookup). */
  readonly excluded: ReadonlySet<string> | undefined;
  readonly matchLabels: ReadonlyArray<readonly [string, string]>;
  readonly matchExpressions: readonly PreparedRequirement[];
}

export interface ResolvedConfig {
  /** Normalised: binPack + spread + consolidate = 1. */
  readonly binPackWeight: number;
  readonly spreadWeight: number;
  readonly consolidateWeight: number;
  /** Normalised: cpu + memory = 1. */
  readonly cpuWeight: number;
  readonly memoryWeight: number;
  /** Infinity when unlimited. */
  readonly maxGuestsPerHost: number;
}

const PROFILES = {
  binPack: { binPack: 1, spread: 0 },
  spread: { binPack: 0, spread: 1 },
  consolidate: { binPack: 0, spread: 0, consolidate: 1 },
} as const;

function checkWeight(field: string, w: number): void {
  if (!Number.isFinite(w) || w < 0) throw new SchedulerConfigError(field, `must be a finite number ≥ 0, got ${w}`);
}

/** Validates a config and fills in defaults. Throws `SchedulerConfigError`. */
export function resolveConfig(config: SchedulerConfig = {}): ResolvedConfig {
  const strategy = config.strategy ?? 'spread';
  let weights: { binPack: number; spread: number; consolidate?: number };
  if (typeof strategy === 'string') {
    if (!Object.hasOwn(PROFILES, strategy)) throw new SchedulerConfigError('strategy', `unknown profile "${String(strategy)}"`);
    weights = PROFILES[strategy];
  } else {
    weights = strategy;
  }
  checkWeight('strategy.binPack', weights.binPack);
  checkWeight('strategy.spread', weights.spread);
  const consolidate = weights.consolidate ?? 0;
  checkWeight('strategy.consolidate', consolidate);
  const strategySum = weights.binPack + weights.spread + consolidate;
  if (strategySum === 0) throw new SchedulerConfigError('strategy', 'binPack, spread and consolidate weights are all 0');

  const rw = config.resourceWeights ?? { cpu: 1, memory: 1 };
  checkWeight('resourceWeights.cpu', rw.cpu);
  checkWeight('resourceWeights.memory', rw.memory);
  const resourceSum = rw.cpu + rw.memory;
  if (resourceSum === 0) throw new SchedulerConfigError('resourceWeights', 'cpu and memory weights are both 0');

  const maxGuests = config.maxGuestsPerHost ?? Infinity;
  if (Number.isNaN(maxGuests) || maxGuests < 0) {
    throw new SchedulerConfigError('maxGuestsPerHost', `must be ≥ 0, got ${maxGuests}`);
  }
  return {
    binPackWeight: weights.binPack / strategySum,
    spreadWeight: weights.spread / strategySum,
    consolidateWeight: consolidate / strategySum,
    cpuWeight: rw.cpu / resourceSum,
    memoryWeight: rw.memory / resourceSum,
    maxGuestsPerHost: maxGuests,
  };
}

/** Builds the working form of one host. */
export function prepareHost(host: HostCandidate, config: ResolvedConfig): PreparedHost {
  const owners = new Map<string, string>();
  const pools = new Map<string, string>();
  for (const g of host.guests) {
    if (!owners.has(g.owner)) owners.set(g.owner, g.desktop);
    if (g.pool !== undefined && !pools.has(g.pool)) pools.set(g.pool, g.desktop);
  }
  return {
    name: host.name,
    labels: host.labels,
    ready: host.ready,
    schedulable: host.schedulable,
    maintenance: host.maintenance,
    allocatableCpu: Math.floor(host.capacity.vcpus * host.overcommit.cpu),
    allocatableMemory: Math.floor(host.capacity.memoryBytes * host.overcommit.memory),
    allocatableDisk: host.capacity.diskBytes,
    fleetCpu: Math.floor(host.capacity.vcpus * host.overcommit.cpu),
    fleetMemory: Math.floor(host.capacity.memoryBytes * host.overcommit.memory),
    usedCpu: host.allocated.vcpus,
    usedMemory: host.allocated.memoryBytes,
    usedDisk: host.allocated.diskBytes,
    guestCount: host.guests.length,
    maxGuests: host.maxGuests ?? config.maxGuestsPerHost,
    owners,
    pools,
    source: host,
    added: [],
  };
}

/** Builds the working form of every host; throws `SchedulerInputError` on a duplicate name. */
export function prepareHosts(hosts: readonly HostCandidate[], config: ResolvedConfig): PreparedHost[] {
  const seen = new Set<string>();
  const out: PreparedHost[] = [];
  for (const h of hosts) {
    if (seen.has(h.name)) throw new SchedulerInputError(`host ${h.name}`, 'appears twice');
    seen.add(h.name);
    out.push(prepareHost(h, config));
  }
  const fleetCpu = out.reduce((m, h) => Math.max(m, h.allocatableCpu), 0);
  const fleetMemory = out.reduce((m, h) => Math.max(m, h.allocatableMemory), 0);
  for (const h of out) {
    h.fleetCpu = fleetCpu;
    h.fleetMemory = fleetMemory;
  }
  return out;
}

function checkAmount(id: string, field: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw new SchedulerInputError(`desktop ${id}`, `${field} must be a finite number ≥ 0, got ${v}`);
}

/** Builds the working form of one request; throws `SchedulerInputError` on negative amounts. */
export function prepareRequest(desktop: DesktopRequest): PreparedRequest {
  const id = `${desktop.namespace}/${desktop.name}`;
  checkAmount(id, 'vcpus', desktop.vcpus);
  checkAmount(id, 'memoryBytes', desktop.memoryBytes);
  checkAmount(id, 'diskBytes', desktop.diskBytes);
  let antiAffinityOn: 'owner' | 'pool' | undefined;
  let antiAffinityKey: string | undefined;
  if (desktop.antiAffinity === 'owner') {
    antiAffinityOn = 'owner';
    antiAffinityKey = desktop.owner;
  } else if (desktop.antiAffinity === 'pool' && desktop.pool !== undefined) {
    antiAffinityOn = 'pool';
    antiAffinityKey = desktop.pool;
  }
  const excludeHosts = desktop.excludeHosts ?? [];
  return {
    desktop,
    id,
    vcpus: desktop.vcpus,
    memoryBytes: desktop.memoryBytes,
    diskBytes: desktop.diskBytes,
    owner: desktop.owner,
    antiAffinityKey,
    antiAffinityOn,
    excluded: excludeHosts.length > 0 ? new Set(excludeHosts) : undefined,
    matchLabels: Object.entries(desktop.hostSelector ?? {}),
    matchExpressions: (desktop.matchExpressions ?? []).map((e) => ({
      key: e.key,
      operator: e.operator,
      values: new Set(e.values ?? []),
    })),
  };
}

/** Records a placement on the working host (scheduleBatch only). */
export function commit(host: PreparedHost, req: PreparedRequest): void {
  host.usedCpu += req.vcpus;
  host.usedMemory += req.memoryBytes;
  host.usedDisk += req.diskBytes;
  host.guestCount += 1;
  const guest: GuestRef =
    req.desktop.pool === undefined
      ? { desktop: req.id, owner: req.owner }
      : { desktop: req.id, owner: req.owner, pool: req.desktop.pool };
  host.added.push(guest);
  if (!host.owners.has(guest.owner)) host.owners.set(guest.owner, guest.desktop);
  if (guest.pool !== undefined && !host.pools.has(guest.pool)) host.pools.set(guest.pool, guest.desktop);
}

/** The host state after this call's placements: the input object if nothing was added. */
export function toCandidate(host: PreparedHost): HostCandidate {
  if (host.added.length === 0) return host.source;
  return {
    ...host.source,
    allocated: { vcpus: host.usedCpu, memoryBytes: host.usedMemory, diskBytes: host.usedDisk },
    guests: [...host.source.guests, ...host.added],
  };
}
