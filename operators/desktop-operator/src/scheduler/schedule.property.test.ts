/**
 * Property tests over random hosts and desktops. The oracle below is written plainly from
 * the documented rules, on the raw inputs (no prepared state, no floor, arrays instead of
 * maps), so it does not share code or shortcuts with the implementation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scheduleBatch, schedule } from './index';
import type {
  DesktopRequest,
  GuestRef,
  HostCandidate,
  ReasonCode,
  SchedulerConfig,
  SelectorRequirement,
  StrategyWeights,
} from './types';

const RUNS = 1000;
const BATCH_RUNS = 300;

// ---------- the oracle ----------

function limitOf(h: HostCandidate, c: SchedulerConfig): number | undefined {
  return h.maxGuests !== undefined ? h.maxGuests : c.maxGuestsPerHost;
}

function labelsSatisfy(d: DesktopRequest, labels: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(labels);
  for (const k of Object.keys(d.hostSelector ?? {})) {
    if (!keys.includes(k) || labels[k] !== d.hostSelector![k]) return false;
  }
  for (const e of d.matchExpressions ?? []) {
    const present = keys.includes(e.key);
    const inValues = present && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !present) return false;
    if (e.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

/** Every rule the host breaks, in the documented order; empty when the desktop may go there. */
function oracleFailures(d: DesktopRequest, h: HostCandidate, c: SchedulerConfig): ReasonCode[] {
  const out: ReasonCode[] = [];
  if (!h.ready) out.push('NotReady');
  if (h.maintenance) out.push('Maintenance');
  if (!h.schedulable) out.push('Unschedulable');
  if ((d.excludeHosts ?? []).includes(h.name)) out.push('Excluded');
  if (!labelsSatisfy(d, h.labels)) out.push('NodeSelectorMismatch');
  const sameOwner = h.guests.some((g) => g.owner === d.owner);
  const samePool = d.pool !== undefined && h.guests.some((g) => g.pool === d.pool);
  if ((d.antiAffinity === 'owner' && sameOwner) || (d.antiAffinity === 'pool' && samePool)) out.push('AntiAffinity');
  const limit = limitOf(h, c);
  if (limit !== undefined && h.guests.length + 1 > limit) out.push('TooManyGuests');
  if (h.allocated.vcpus + d.vcpus > h.capacity.vcpus * h.overcommit.cpu) out.push('InsufficientCPU');
  if (h.allocated.memoryBytes + d.memoryBytes > h.capacity.memoryBytes * h.overcommit.memory) out.push('InsufficientMemory');
  if (h.allocated.diskBytes + d.diskBytes > h.capacity.diskBytes) out.push('InsufficientDisk');
  return out;
}

function withinLimits(h: HostCandidate, c: SchedulerConfig): boolean {
  const limit = limitOf(h, c);
  return (
    h.allocated.vcpus <= h.capacity.vcpus * h.overcommit.cpu &&
    h.allocated.memoryBytes <= h.capacity.memoryBytes * h.overcommit.memory &&
    h.allocated.diskBytes <= h.capacity.diskBytes &&
    (limit === undefined || h.guests.length <= limit)
  );
}

function place(h: HostCandidate, d: DesktopRequest): HostCandidate {
  const guest: GuestRef = { desktop: `${d.namespace}/${d.name}`, owner: d.owner, ...(d.pool !== undefined ? { pool: d.pool } : {}) };
  return {
    ...h,
    allocated: {
      vcpus: h.allocated.vcpus + d.vcpus,
      memoryBytes: h.allocated.memoryBytes + d.memoryBytes,
      diskBytes: h.allocated.diskBytes + d.diskBytes,
    },
    guests: [...h.guests, guest],
  };
}

/**
 * Plain score: blended most-/least-allocated on CPU and memory after placement, plus
 * consolidate (fullness against the largest host in the fleet, and a 1-point size term).
 */
function oracleScore(d: DesktopRequest, h: HostCandidate, c: SchedulerConfig, fleet: readonly HostCandidate[]): number {
  const w: StrategyWeights =
    c.strategy === 'binPack'
      ? { binPack: 1, spread: 0 }
      : c.strategy === 'consolidate'
        ? { binPack: 0, spread: 0, consolidate: 1 }
        : c.strategy === undefined || c.strategy === 'spread'
          ? { binPack: 0, spread: 1 }
          : c.strategy;
  const rw = c.resourceWeights ?? { cpu: 1, memory: 1 };
  const use = (used: number, cap: number) => (cap > 0 ? Math.min(1, Math.max(0, used / cap)) : 1);
  const allocCpu = (x: HostCandidate) => Math.floor(x.capacity.vcpus * x.overcommit.cpu);
  const allocMem = (x: HostCandidate) => Math.floor(x.capacity.memoryBytes * x.overcommit.memory);
  const blend = (cpu: number, mem: number) => (rw.cpu * cpu + rw.memory * mem) / (rw.cpu + rw.memory);
  const most = blend(use(h.allocated.vcpus + d.vcpus, allocCpu(h)), use(h.allocated.memoryBytes + d.memoryBytes, allocMem(h)));
  const maxCpu = Math.max(...fleet.map(allocCpu));
  const maxMem = Math.max(...fleet.map(allocMem));
  const part = (a: number, b: number) => (b > 0 ? Math.min(1, a / b) : 0);
  const consolidate =
    99 * blend(use(h.allocated.vcpus + d.vcpus, maxCpu), use(h.allocated.memoryBytes + d.memoryBytes, maxMem)) +
    blend(part(allocCpu(h), maxCpu), part(allocMem(h), maxMem));
  const wc = w.consolidate ?? 0;
  return (100 * (w.binPack * most + w.spread * (1 - most)) + wc * consolidate) / (w.binPack + w.spread + wc);
}

// ---------- generators (small numbers so fits are borderline often) ----------

const HOST_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
const OWNERS = ['alice', 'bob', 'carol'];
const POOLS = ['p1', 'p2'];
const KEYS = ['zone', 'gpu', 'rack'];
const VALUES = ['x', 'y'];
/** `usual` nine times in ten. */
const mostly = <T,>(usual: T, rare: T) => fc.oneof({ arbitrary: fc.constant(usual), weight: 9 }, { arbitrary: fc.constant(rare), weight: 1 });
/** undefined `weight` times in `weight + 1`. */
const sometimes = <T,>(arb: fc.Arbitrary<T>, weight = 2) => fc.oneof({ arbitrary: fc.constant(undefined), weight }, { arbitrary: arb, weight: 1 });

const guestArb: fc.Arbitrary<GuestRef> = fc.record({
  desktop: fc.constantFrom('ns/g1', 'ns/g2', 'other/g3'),
  owner: fc.constantFrom(...OWNERS),
  pool: sometimes(fc.constantFrom(...POOLS), 1),
});

const hostArb: fc.Arbitrary<HostCandidate> = fc.record({
  name: fc.constantFrom(...HOST_NAMES),
  labels: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 3 }),
  ready: mostly(true, false),
  schedulable: mostly(true, false),
  maintenance: mostly(false, true),
  capacity: fc.oneof(
    { weight: 4, arbitrary: fc.record({ vcpus: fc.integer({ min: 4, max: 16 }), memoryBytes: fc.integer({ min: 16, max: 64 }), diskBytes: fc.integer({ min: 60, max: 300 }) }) },
    { weight: 1, arbitrary: fc.record({ vcpus: fc.integer({ min: 0, max: 4 }), memoryBytes: fc.integer({ min: 0, max: 16 }), diskBytes: fc.integer({ min: 0, max: 60 }) }) },
  ),
  overcommit: fc.record({ cpu: fc.constantFrom(1, 1.5, 2, 4), memory: fc.constantFrom(1, 1.2, 1.5) }),
  // Mostly light load, sometimes already past the limits.
  allocated: fc.oneof(
    { weight: 3, arbitrary: fc.record({ vcpus: fc.integer({ min: 0, max: 12 }), memoryBytes: fc.integer({ min: 0, max: 30 }), diskBytes: fc.integer({ min: 0, max: 60 }) }) },
    { weight: 1, arbitrary: fc.record({ vcpus: fc.integer({ min: 0, max: 70 }), memoryBytes: fc.integer({ min: 0, max: 100 }), diskBytes: fc.integer({ min: 0, max: 220 }) }) },
  ),
  guests: fc.array(guestArb, { maxLength: 3 }),
  maxGuests: sometimes(fc.integer({ min: 0, max: 8 }), 3),
});

const someHostsArb = fc.uniqueArray(hostArb, { selector: (h) => h.name, minLength: 1, maxLength: 8 });
const hostsArb = fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 9, arbitrary: someHostsArb });

const requirementArb: fc.Arbitrary<SelectorRequirement> = fc.oneof(
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.subarray(VALUES) }),
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);

const desktopArb: fc.Arbitrary<DesktopRequest> = fc.record({
  name: fc.constantFrom('d1', 'd2', 'd3'),
  namespace: fc.constantFrom('ns', 'other'),
  owner: fc.constantFrom(...OWNERS),
  pool: sometimes(fc.constantFrom(...POOLS), 1),
  vcpus: fc.integer({ min: 0, max: 8 }),
  memoryBytes: fc.integer({ min: 0, max: 16 }),
  diskBytes: fc.integer({ min: 0, max: 30 }),
  hostSelector: sometimes(fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 1 }), 4),
  matchExpressions: sometimes(fc.array(requirementArb, { minLength: 1, maxLength: 2 }), 4),
  antiAffinity: fc.constantFrom('none' as const, 'none' as const, 'owner' as const, 'pool' as const),
  excludeHosts: sometimes(fc.subarray(HOST_NAMES, { maxLength: 2 }), 4),
});

const configArb: fc.Arbitrary<SchedulerConfig> = fc.record({
  strategy: sometimes(
    fc.oneof(
      fc.constantFrom('binPack' as const, 'spread' as const, 'consolidate' as const),
      fc.record({ binPack: fc.integer({ min: 0, max: 3 }), spread: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ binPack: fc.integer({ min: 1, max: 3 }), spread: fc.integer({ min: 0, max: 3 }) }),
    ),
    1,
  ),
  resourceWeights: sometimes(fc.record({ cpu: fc.integer({ min: 1, max: 3 }), memory: fc.integer({ min: 0, max: 3 }) })),
  maxGuestsPerHost: sometimes(fc.integer({ min: 0, max: 12 }), 3),
});

/** Unique desktop names in a batch, so anti-affinity messages name the right one. */
const batchArb = fc.array(desktopArb, { minLength: 5, maxLength: 30, size: 'medium' }).map((ds) => ds.map((d, i) => ({ ...d, name: `b${i}` })));

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

// ---------- properties ----------

describe('schedule (properties)', () => {
  it('(1) a placed desktop always fits: within overcommit, disk capacity and max guests', () => {
    fc.assert(
      fc.property(desktopArb, hostsArb, configArb, (d, hosts, c) => {
        const r = schedule(deepFreeze(d), deepFreeze(hosts), c);
        if (!r.ok) return;
        const chosen = hosts.find((h) => h.name === r.host)!;
        expect(withinLimits(place(chosen, d), c)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('(3) every rejection reason is correct, and it never fails while some host passes', () => {
    fc.assert(
      fc.property(desktopArb, hostsArb, configArb, (d, hosts, c) => {
        const r = schedule(d, hosts, c);
        const failures = hosts.map((h) => oracleFailures(d, h, c));
        const feasible = failures.some((f) => f.length === 0);
        expect(r.ok).toBe(feasible);
        if (r.ok) return;
        // Per host: the reported code is the oracle's first broken rule.
        expect(r.rejections.map((x) => [x.host, x.code])).toEqual(hosts.map((h, i) => [h.name, failures[i]![0]]));
        // Counts, recomputed independently.
        const want: Record<string, number> = {};
        for (const f of failures) want[f[0]!] = (want[f[0]!] ?? 0) + 1;
        expect(r.reasons).toEqual(want);
        expect(Object.values(r.reasons).reduce((a, b) => a + b, 0)).toBe(hosts.length);
        expect(r.message.startsWith(`0/${hosts.length} hosts available`)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('(3b) the chosen host passes every rule and no feasible host scores better', () => {
    fc.assert(
      fc.property(desktopArb, hostsArb, configArb, (d, hosts, c) => {
        const r = schedule(d, hosts, c);
        if (!r.ok) return;
        const chosen = hosts.find((h) => h.name === r.host)!;
        expect(oracleFailures(d, chosen, c)).toEqual([]);
        expect(r.score).toBeCloseTo(oracleScore(d, chosen, c, hosts), 9);
        for (const h of hosts) {
          if (oracleFailures(d, h, c).length === 0) expect(oracleScore(d, h, c, hosts)).toBeLessThanOrEqual(r.score + 1e-9);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('(5) the placed host always matches the selector', () => {
    fc.assert(
      fc.property(desktopArb, hostsArb, configArb, (d, hosts, c) => {
        const r = schedule(d, hosts, c);
        if (r.ok) expect(labelsSatisfy(d, hosts.find((h) => h.name === r.host)!.labels)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('(6) is deterministic and independent of host order', () => {
    fc.assert(
      fc.property(desktopArb, hostsArb, configArb, fc.nat(), (d, hosts, c, seed) => {
        const shuffled = [...hosts].sort((x, y) => ((x.name.charCodeAt(0) * 7919 + seed) % 31) - ((y.name.charCodeAt(0) * 7919 + seed) % 31));
        const a = schedule(d, hosts, c);
        const b = schedule(d, shuffled, c);
        expect(b.ok).toBe(a.ok);
        if (a.ok && b.ok) expect([b.host, b.score]).toEqual([a.host, a.score]);
        if (!a.ok && !b.ok) expect([b.reasons, b.message]).toEqual([a.reasons, a.message]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('scheduleBatch (properties)', () => {
  it('(2)(4)(5) never overcommits a host at any point, honours anti-affinity and selectors, matches a replay', () => {
    fc.assert(
      fc.property(batchArb, someHostsArb, configArb, (ds, hosts, c) => {
        const before = structuredClone(hosts);
        const { placements, hosts: after } = scheduleBatch(deepFreeze(ds), deepFreeze(hosts), c);
        expect(placements.map((p) => p.desktop)).toEqual(ds);
        // Replay every step on plain objects, checking each decision against the oracle.
        const state = new Map(before.map((h) => [h.name, h]));
        for (const { desktop: d, result } of placements) {
          const current = [...state.values()];
          const failures = current.map((h) => oracleFailures(d, h, c));
          expect(result.ok).toBe(failures.some((f) => f.length === 0));
          if (!result.ok) {
            expect(result.rejections.map((x) => x.code)).toEqual(failures.map((f) => f[0]));
            continue;
          }
          const host = state.get(result.host)!;
          expect(oracleFailures(d, host, c)).toEqual([]);
          if (d.antiAffinity === 'owner') expect(host.guests.some((g) => g.owner === d.owner)).toBe(false);
          if (d.antiAffinity === 'pool' && d.pool !== undefined) expect(host.guests.some((g) => g.pool === d.pool)).toBe(false);
          const placed = place(host, d);
          const limit = limitOf(host, c);
          // (2) at this point, on this host:
          expect(placed.allocated.vcpus).toBeLessThanOrEqual(placed.capacity.vcpus * placed.overcommit.cpu);
          expect(placed.allocated.memoryBytes).toBeLessThanOrEqual(placed.capacity.memoryBytes * placed.overcommit.memory);
          expect(placed.allocated.diskBytes).toBeLessThanOrEqual(placed.capacity.diskBytes);
          if (limit !== undefined) expect(placed.guests.length).toBeLessThanOrEqual(limit);
          state.set(host.name, placed);
        }
        expect(after).toEqual([...state.values()]);
        expect(hosts).toEqual(before);
        // (4) no two batch desktops of one owner, both with owner anti-affinity, share a host.
        const antiByOwner = new Map(ds.filter((d) => d.antiAffinity === 'owner').map((d) => [`${d.namespace}/${d.name}`, d.owner]));
        for (const h of after) {
          const owners = h.guests.map((g) => antiByOwner.get(g.desktop)).filter((o) => o !== undefined);
          expect(new Set(owners).size).toBe(owners.length);
        }
      }),
      { numRuns: BATCH_RUNS },
    );
  });
});
