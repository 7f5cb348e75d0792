/**
 * Pure consolidation planner: which idle desktops to live-migrate so that some hosts end up
 * with no desktop at all (and can then be put in maintenance or powered off).
 *
 * Every placement decision goes through the scheduler (`scheduleBatch`, binPack profile):
 * the same filters the migration loop re-checks when it picks up a migration with a
 * targetHost, so a planned move is one the migration loop will accept (capacity, guest
 * limit, Ready, maintenance, cordon, host selector, anti-affinity). binPack scores a host
 * by how full it is after the placement, i.e. best fit onto the most-loaded hosts.
 */
import {
  prepareHosts,
  resolveConfig,
  scheduleBatch,
  utilization,
  type DesktopRequest,
  type HostCandidate,
  type ReasonCode,
  type SchedulerConfig,
  type Unschedulable,
} from '../scheduler';

/** One desktop placed on a host. */
export interface ConsolidationDesktop {
  /** `namespace/name` (the scheduler's GuestRef.desktop). */
  readonly key: string;
  readonly host: string;
  /** What the scheduler needs: resources from the template, owner, pool, hostSelector, anti-affinity. */
  readonly request: DesktopRequest;
  /** VirtualDesktop status.phase. Only `Running` guests can be live-migrated. */
  readonly phase: string | undefined;
  /** true: no console session open; false: sessions open; undefined: unknown (counted as busy). */
  readonly idle: boolean | undefined;
  readonly deleting?: boolean;
  /** Set by the caller when it knows another reason the desktop cannot move (e.g. its template is gone). */
  readonly blocked?: string;
}

/** A DesktopMigration that has not ended. */
export interface InFlightMigration {
  readonly desktop: string;
  /** Where the guest is leaving from, when known. */
  readonly from?: string;
  /** Where it is going, when known. */
  readonly to?: string;
  /** Made by consolidation (label `deskplane.io/reason: consolidation`). */
  readonly consolidation: boolean;
}

export interface ConsolidationLimits {
  /** Consolidation migrations in flight at once (in-flight ones count against it). */
  readonly maxMigrations: number;
  /** The orchestrator's slot limits: migrations out of one host, and in all. Unset: not applied. */
  readonly perHostOutbound?: number;
  readonly global?: number;
}

export interface ConsolidationInput {
  /** Every host this operator owns, as the scheduler sees them (`hostCandidate`). */
  readonly hosts: readonly HostCandidate[];
  readonly desktops: readonly ConsolidationDesktop[];
  readonly inFlight: readonly InFlightMigration[];
  readonly limits: ConsolidationLimits;
  /** The operator's scheduler settings (resource weights, guest limit); the strategy is replaced by binPack. */
  readonly scheduler?: SchedulerConfig;
}

export interface Move {
  readonly desktop: string;
  readonly from: string;
  readonly to: string;
}

export type LeftAloneReason = 'Maintenance' | 'NotReady' | 'MigrationInFlight' | 'Receiving' | 'NotMovable' | 'Busy' | 'Pinned' | 'NoRoom';

export interface LeftAlone {
  readonly host: string;
  readonly reason: LeftAloneReason;
  readonly detail: string;
}

export interface ConsolidationPlan {
  /** Moves to start in this pass (within the limits), grouped by the host they empty. */
  readonly moves: readonly Move[];
  /** The plan's other moves: beyond this pass's limits, for a later pass. */
  readonly deferred: readonly Move[];
  /** Hosts that have no desktop left once every move (now and deferred) is done, in the order they are emptied. */
  readonly emptied: readonly string[];
  /** Hosts with no desktop already (never targets: filling them defeats the purpose). */
  readonly empty: readonly string[];
  /** Every other host, with why it keeps its desktops. */
  readonly leftAlone: readonly LeftAlone[];
  readonly summary: string;
}

const CAPACITY_CODES: readonly ReasonCode[] = ['TooManyGuests', 'InsufficientCPU', 'InsufficientMemory', 'InsufficientDisk'];

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** "a, b, c and 2 more": details stay one readable line on big hosts. */
function some(items: readonly string[], max = 3): string {
  const head = items.slice(0, max).join(', ');
  return items.length > max ? `${head} and ${items.length - max} more` : head;
}

function whyNotMovable(d: ConsolidationDesktop, inFlight: ReadonlySet<string>): string | undefined {
  if (d.blocked) return `${d.key}: ${d.blocked}`;
  if (d.deleting) return `${d.key} is being deleted`;
  if (inFlight.has(d.key)) return `${d.key} has a migration in flight`;
  if (d.phase !== 'Running') return `${d.key} is ${d.phase ?? 'without a phase'}`;
  return undefined;
}

/** Pinned: only the desktop's own rules rule out every other host; NoRoom: capacity (or nothing left to move to). */
function failureReason(result: Unschedulable): LeftAloneReason {
  const codes = Object.keys(result.reasons) as ReasonCode[];
  if (codes.some((c) => CAPACITY_CODES.includes(c))) return 'NoRoom';
  return codes.includes('NodeSelectorMismatch') || codes.includes('AntiAffinity') ? 'Pinned' : 'NoRoom';
}

/**
 * Plans one consolidation pass. Deterministic: the result does not depend on the order of
 * the inputs. Hosts are tried least-loaded first; a host is emptied only if ALL its
 * desktops are idle, Running, free of migrations and fit on the remaining hosts together.
 */
export function planConsolidation(input: ConsolidationInput): ConsolidationPlan {
  const config: SchedulerConfig = { ...input.scheduler, strategy: 'binPack' };
  const resolved = resolveConfig(config);
  const hosts = [...input.hosts].sort((a, b) => byName(a.name, b.name));
  const prepared = prepareHosts(hosts, resolved);
  const load = new Map(
    prepared.map((h) => [
      h.name,
      resolved.cpuWeight * utilization(h.usedCpu, 0, h.allocatableCpu) + resolved.memoryWeight * utilization(h.usedMemory, 0, h.allocatableMemory),
    ]),
  );
  const order = [...hosts].sort((a, b) => load.get(a.name)! - load.get(b.name)! || a.guests.length - b.guests.length || byName(a.name, b.name));

  const desktopsOn = new Map<string, ConsolidationDesktop[]>();
  const known = new Map<string, ConsolidationDesktop>();
  for (const d of [...input.desktops].sort((a, b) => byName(a.key, b.key))) {
    known.set(d.key, d);
    const list = desktopsOn.get(d.host);
    if (list) list.push(d);
    else desktopsOn.set(d.host, [d]);
  }
  const migrating = new Set(input.inFlight.map((m) => m.desktop));
  const inFlightHosts = new Set<string>();
  const leaving = new Set<string>();
  for (const m of input.inFlight) {
    const from = m.from ?? known.get(m.desktop)?.host;
    if (from !== undefined) {
      inFlightHosts.add(from);
      leaving.add(from);
    }
    if (m.to !== undefined) inFlightHosts.add(m.to);
  }

  const empty = order.filter((h) => h.guests.length === 0 && h.ready && !h.maintenance).map((h) => h.name);
  // Never targets: hosts already empty, and hosts guests are leaving (someone is emptying them).
  const neverTargets = new Set([...empty, ...leaving]);
  let working: readonly HostCandidate[] = hosts;
  const emptying: string[] = [];
  const receiving = new Set<string>();
  const all: Move[] = [];
  const leftAlone: LeftAlone[] = [];
  const leave = (host: string, reason: LeftAloneReason, detail: string) => leftAlone.push({ host, reason, detail });

  for (const h of order) {
    const name = h.name;
    if (h.maintenance) {
      leave(name, 'Maintenance', 'in maintenance: the drain moves its desktops');
      continue;
    }
    if (!h.ready) {
      leave(name, 'NotReady', 'not Ready: its guests cannot be migrated');
      continue;
    }
    if (h.guests.length === 0) continue;
    if (inFlightHosts.has(name)) {
      leave(name, 'MigrationInFlight', 'a migration from or to this host is in flight; it is looked at again once that ends');
      continue;
    }
    if (receiving.has(name)) {
      leave(name, 'Receiving', 'receives desktops in this plan');
      continue;
    }
    const mine = desktopsOn.get(name) ?? [];
    // Only a guest listed as a desktop on this host can be moved off it; anything else keeps the host.
    const listed = new Set(mine.map((d) => d.key));
    const unknown = h.guests.filter((g) => !listed.has(g.desktop)).map((g) => `${g.desktop} is not known`);
    const stuck = [...unknown, ...mine.map((d) => whyNotMovable(d, migrating)).filter((s): s is string => s !== undefined)];
    if (stuck.length > 0) {
      leave(name, 'NotMovable', some(stuck));
      continue;
    }
    const busy = mine.filter((d) => d.idle !== true);
    if (busy.length > 0) {
      const what = busy.map((d) => (d.idle === false ? `${d.key} (session open)` : `${d.key} (activity unknown)`));
      leave(name, 'Busy', `${busy.length} of ${mine.length} desktops in use: ${some(what)}`);
      continue;
    }

    // Largest first (first-fit-decreasing's order), so the big desktops find room before the small ones fill it.
    const movers = [...mine].sort(
      (a, b) => b.request.vcpus - a.request.vcpus || b.request.memoryBytes - a.request.memoryBytes || byName(a.key, b.key),
    );
    const exclude = [...new Set([name, ...emptying, ...neverTargets])].sort(byName);
    const requests = movers.map((d) => ({ ...d.request, excludeHosts: [...(d.request.excludeHosts ?? []), ...exclude] }));
    const batch = scheduleBatch(requests, working, config);
    const failed = batch.placements.findIndex((p) => !p.result.ok);
    if (failed >= 0) {
      const result = batch.placements[failed]!.result as Unschedulable;
      leave(name, failureReason(result), `${movers[failed]!.key} fits on no other host (${result.message})`);
      continue;
    }
    working = batch.hosts;
    emptying.push(name);
    batch.placements.forEach((p, i) => {
      const to = (p.result as { host: string }).host;
      receiving.add(to);
      all.push({ desktop: movers[i]!.key, from: name, to });
    });
  }

  const { now, later } = withinLimits(all, input.inFlight, input.limits);
  leftAlone.sort((a, b) => byName(a.host, b.host));
  const plan = { moves: now, deferred: later, emptied: emptying, empty, leftAlone };
  return { ...plan, summary: summarize(plan, hosts.length) };
}

/** Splits the moves into this pass's (in order, within every limit) and the rest. */
function withinLimits(all: readonly Move[], inFlight: readonly InFlightMigration[], limits: ConsolidationLimits): { now: Move[]; later: Move[] } {
  let budget = Math.max(0, limits.maxMigrations - inFlight.filter((m) => m.consolidation).length);
  if (limits.global !== undefined) budget = Math.min(budget, Math.max(0, limits.global - inFlight.length));
  const outbound = new Map<string, number>();
  const now: Move[] = [];
  const later: Move[] = [];
  for (const m of all) {
    const out = outbound.get(m.from) ?? 0;
    if (budget > 0 && (limits.perHostOutbound === undefined || out < limits.perHostOutbound)) {
      now.push(m);
      budget--;
      outbound.set(m.from, out + 1);
    } else {
      later.push(m);
    }
  }
  return { now, later };
}

function summarize(p: Omit<ConsolidationPlan, 'summary'>, total: number): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  const head =
    p.emptied.length === 0
      ? `no host can be emptied (${n(total, 'host')}, ${p.empty.length} already empty)`
      : `empties ${n(p.emptied.length, 'host')} (${p.emptied.join(', ')}) with ${n(p.moves.length + p.deferred.length, 'move')}: ${p.moves.length} now, ${p.deferred.length} in later passes; ${p.empty.length} already empty`;
  const alone = p.leftAlone.map((l) => `${l.host} ${l.reason}`);
  return alone.length > 0 ? `${head}; left alone: ${some(alone, 6)}` : head;
}
