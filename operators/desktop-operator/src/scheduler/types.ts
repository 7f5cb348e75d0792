/**
 * Input and output shapes of the scheduler. They are the scheduler's own, decoupled from
 * the CRD types: the operator maps `KvmHost` / `VirtualDesktop` onto them.
 */

/** Amounts of the three resources a desktop consumes. */
export interface Resources {
  readonly vcpus: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
}

/** A desktop already placed on a host, as far as anti-affinity cares. */
export interface GuestRef {
  /** Desktop identity, `namespace/name` by convention (it only appears in messages). */
  readonly desktop: string;
  /** Opaque owner key; compared for equality only. */
  readonly owner: string;
  /** Opaque pool key (namespace-qualified by the caller, pools are namespaced); absent for loose desktops. */
  readonly pool?: string;
}

/** One hypervisor host as the scheduler sees it. */
export interface HostCandidate {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The host's Ready condition is True (agent heartbeating). */
  readonly ready: boolean;
  /** False when the host is cordoned. */
  readonly schedulable: boolean;
  /** The host is being drained / serviced. */
  readonly maintenance: boolean;
  /** Physical capacity. */
  readonly capacity: Resources;
  /**
   * Overcommit ratios. Allocatable is `floor(capacity × ratio)` for CPU and memory; disk
   * is never overcommitted (allocatable disk = capacity disk).
   */
  readonly overcommit: { readonly cpu: number; readonly memory: number };
  /** What the guests already on the host have been given. */
  readonly allocated: Resources;
  readonly guests: readonly GuestRef[];
  /** Per-host guest limit; falls back to `SchedulerConfig.maxGuestsPerHost`, then to no limit. */
  readonly maxGuests?: number;
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** A Kubernetes-style label selector requirement. */
export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** For `In` / `NotIn`. An empty `In` matches no host; an empty `NotIn` matches every host. */
  readonly values?: readonly string[];
}

export type AntiAffinity = 'none' | 'owner' | 'pool';

/** What one desktop asks for. */
export interface DesktopRequest {
  readonly name: string;
  readonly namespace: string;
  readonly owner: string;
  readonly pool?: string;
  readonly vcpus: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  /** `matchLabels`: every pair must be present on the host. */
  readonly hostSelector?: Readonly<Record<string, string>>;
  /** `matchExpressions`: every requirement must hold (ANDed with `hostSelector`). */
  readonly matchExpressions?: readonly SelectorRequirement[];
  /**
   * `owner`: no host that already has a desktop of the same owner. `pool`: no host that
   * already has a desktop of the same pool (no-op when `pool` is unset). Only the incoming
   * desktop's rule is checked (it is not symmetric, see the README).
   */
  readonly antiAffinity: AntiAffinity;
  /** Hosts this desktop must not go to, e.g. the source host of a migration. */
  readonly excludeHosts?: readonly string[];
}

/**
 * binPack: fill each host by its own size (most-allocated). spread: least-allocated.
 * consolidate: fewest hosts in use — fill hosts already in use, open the largest empty
 * host first (first-fit-decreasing's behaviour; see scores.ts and bench/scheduler).
 */
export type StrategyProfile = 'binPack' | 'spread' | 'consolidate';

export interface StrategyWeights {
  readonly binPack: number;
  readonly spread: number;
  readonly consolidate?: number;
}

export interface SchedulerConfig {
  /** A named profile or explicit weights; default `spread` (kube-scheduler's LeastAllocated default). */
  readonly strategy?: StrategyProfile | StrategyWeights;
  /** How much CPU and memory utilisation count in the scores; default 1 and 1. */
  readonly resourceWeights?: { readonly cpu: number; readonly memory: number };
  /** Guest limit for hosts that do not set their own `maxGuests`; default no limit. */
  readonly maxGuestsPerHost?: number;
}

/** Why one host was rejected. Ordered as the filters run; see `FILTER_ORDER`. */
export type ReasonCode =
  | 'NotReady'
  | 'Maintenance'
  | 'Unschedulable'
  | 'Excluded'
  | 'NodeSelectorMismatch'
  | 'AntiAffinity'
  | 'TooManyGuests'
  | 'InsufficientCPU'
  | 'InsufficientMemory'
  | 'InsufficientDisk';

export interface HostRejection {
  readonly host: string;
  readonly code: ReasonCode;
  /** Per-host human text, e.g. "anti-affinity with desktop team-a/d1 of owner alice". */
  readonly detail: string;
}

export interface HostScore {
  readonly host: string;
  readonly score: number;
}

export interface Scheduled {
  readonly ok: true;
  readonly host: string;
  /** Combined score 0–100 of the chosen host. */
  readonly score: number;
  /** Every feasible host's score, best first; only with `{ explain: true }`. */
  readonly scores?: readonly HostScore[];
}

export interface Unschedulable {
  readonly ok: false;
  /** How many hosts failed with each code (each host counts once, under its first failing filter). */
  readonly reasons: Readonly<Partial<Record<ReasonCode, number>>>;
  /** kube-scheduler style: "0/5 hosts available: 3 insufficient memory, 2 in maintenance". */
  readonly message: string;
  /** Each host's reason, in input order. */
  readonly rejections: readonly HostRejection[];
}

export type ScheduleResult = Scheduled | Unschedulable;

export interface ScheduleOptions {
  /** Also return every feasible host's score. */
  readonly explain?: boolean;
}

export interface BatchPlacement {
  readonly desktop: DesktopRequest;
  readonly result: ScheduleResult;
}

export interface BatchResult {
  /** One entry per input desktop, in input order. */
  readonly placements: readonly BatchPlacement[];
  /**
   * The hosts after every placement, in input order. Hosts that received a desktop are new
   * objects; the others are the input objects themselves (never mutated).
   */
  readonly hosts: readonly HostCandidate[];
}
