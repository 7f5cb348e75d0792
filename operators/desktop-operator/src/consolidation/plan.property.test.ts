/**
 * Properties of the consolidation planner over random fleets. The checks are written from
 * the documented rules on the raw inputs (no scheduler code), so they do not share the
 * planner's shortcuts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HostCandidate, SchedulerConfig } from '../scheduler';
import { GiB, smallHost, world, type DesktopSpec } from './fixtures';
import { planConsolidation, type ConsolidationInput, type InFlightMigration, type Move } from './plan';

const RUNS = 1000;

const hostArb = (i: number) =>
  fc.record({
    vcpus: fc.integer({ min: 4, max: 16 }),
    memGiB: fc.integer({ min: 8, max: 32 }),
    cpuOvercommit: fc.constantFrom(1, 2),
    ready: fc.integer({ min: 0, max: 19 }).map((n) => n > 0),
    maintenance: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    schedulable: fc.integer({ min: 0, max: 19 }).map((n) => n !== 0),
    zone: fc.constantFrom('a', 'b'),
    maxGuests: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined, freq: 5 }),
  }).map((h): HostCandidate =>
    smallHost(`h${i}`, {
      capacity: { vcpus: h.vcpus, memoryBytes: h.memGiB * GiB, diskBytes: 500 * GiB },
      overcommit: { cpu: h.cpuOvercommit, memory: 1 },
      ready: h.ready,
      maintenance: h.maintenance,
      schedulable: h.schedulable,
      labels: { zone: h.zone },
      ...(h.maxGuests !== undefined ? { maxGuests: h.maxGuests } : {}),
    }),
  );

const fleetArb = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc.record({
    hosts: fc.tuple(...Array.from({ length: n }, (_, i) => hostArb(i))),
    desktops: fc.array(
      fc.record({
        host: fc.integer({ min: 0, max: n - 1 }),
        vcpus: fc.constantFrom(1, 1, 2, 2, 4),
        memGiB: fc.constantFrom(1, 2, 2, 4, 8),
        phase: fc.integer({ min: 0, max: 19 }).map((n) => (n === 0 ? 'Stopped' : n === 1 ? 'Starting' : 'Running')),
        idle: fc.integer({ min: 0, max: 19 }).map((n) => (n === 0 ? false : n === 1 ? undefined : true)),
        deleting: fc.integer({ min: 0, max: 39 }).map((k) => k === 0),
        owner: fc.constantFrom('alice', 'bob', 'carol'),
        antiAffinity: fc.integer({ min: 0, max: 9 }).map((n): 'none' | 'owner' => (n === 0 ? 'owner' : 'none')),
        zone: fc.option(fc.constantFrom('a', 'b'), { nil: undefined, freq: 8 }),
      }),
      { maxLength: 18 },
    ),
    // One run in four has a migration in flight (it takes its hosts out of the plan).
    inFlight: fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.record({ pick: fc.nat(), to: fc.option(fc.integer({ min: 0, max: n - 1 }), { nil: undefined }), consolidation: fc.boolean() }))
      .map(([k, m]) => (k === 0 ? [m] : [])),
    maxMigrations: fc.integer({ min: 0, max: 6 }),
    perHostOutbound: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    global: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    maxGuestsPerHost: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined, freq: 5 }),
    seed: fc.nat(),
  }),
).map((f) => {
  const specs: DesktopSpec[] = f.desktops.map((d, i) => ({
    name: `d${i}`,
    host: `h${d.host}`,
    phase: d.phase,
    idle: d.idle,
    deleting: d.deleting,
    request: { vcpus: d.vcpus, memoryBytes: d.memGiB * GiB, owner: d.owner, antiAffinity: d.antiAffinity, ...(d.zone ? { hostSelector: { zone: d.zone } } : {}) },
  }));
  const w = world(f.hosts, specs);
  const inFlight: InFlightMigration[] =
    w.desktops.length === 0
      ? []
      : f.inFlight.map((m) => {
          const d = w.desktops[m.pick % w.desktops.length]!;
          return { desktop: d.key, from: d.host, ...(m.to !== undefined ? { to: `h${m.to}` } : {}), consolidation: m.consolidation };
        });
  const scheduler: SchedulerConfig = f.maxGuestsPerHost !== undefined ? { maxGuestsPerHost: f.maxGuestsPerHost } : {};
  const input: ConsolidationInput = {
    hosts: w.hosts,
    desktops: w.desktops,
    inFlight,
    limits: { maxMigrations: f.maxMigrations, ...(f.perHostOutbound !== undefined ? { perHostOutbound: f.perHostOutbound } : {}), ...(f.global !== undefined ? { global: f.global } : {}) },
    scheduler,
  };
  return { input, seed: f.seed };
});

/** A fixed permutation from a seed, so shrinking stays reproducible. */
function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('planConsolidation properties', () => {
  it('never overcommits a target, never moves a busy or unmovable desktop, never targets a host being emptied; emptied hosts end empty', () => {
    fc.assert(
      fc.property(fleetArb, ({ input }) => {
        const plan = planConsolidation(input);
        const all: Move[] = [...plan.moves, ...plan.deferred];
        const hostOf = new Map(input.hosts.map((h) => [h.name, h]));
        const desktopOf = new Map(input.desktops.map((d) => [d.key, d]));
        const migrating = new Set(input.inFlight.map((m) => m.desktop));
        const sources = new Set(input.inFlight.map((m) => m.from));
        const emptied = new Set(plan.emptied);

        const incoming = new Map<string, Array<{ vcpus: number; memoryBytes: number; diskBytes: number }>>();
        for (const m of all) {
          const d = desktopOf.get(m.desktop)!;
          const from = hostOf.get(m.from)!;
          const to = hostOf.get(m.to)!;
          // Busy, unknown, not Running, deleting or migrating desktops never move.
          expect(d.host).toBe(m.from);
          expect(d.idle).toBe(true);
          expect(d.phase).toBe('Running');
          expect(d.deleting ?? false).toBe(false);
          expect(migrating.has(d.key)).toBe(false);
          // Targets: not being emptied, not the source, usable, already in use, not being drained by someone.
          expect(emptied.has(m.to)).toBe(false);
          expect(m.to).not.toBe(m.from);
          expect(to.ready && to.schedulable && !to.maintenance).toBe(true);
          expect(from.maintenance || !from.ready).toBe(false);
          expect(to.guests.length).toBeGreaterThan(0);
          expect(sources.has(m.to)).toBe(false);
          for (const [k, v] of Object.entries(d.request.hostSelector ?? {})) expect(to.labels[k]).toBe(v);
          if (d.request.antiAffinity === 'owner') expect(to.guests.some((g) => g.owner === d.request.owner)).toBe(false);
          incoming.set(m.to, [...(incoming.get(m.to) ?? []), d.request]);
        }
        for (const [name, adds] of incoming) {
          const h = hostOf.get(name)!;
          const sum = (f: (r: { vcpus: number; memoryBytes: number; diskBytes: number }) => number) => adds.reduce((s, r) => s + f(r), 0);
          expect(h.allocated.vcpus + sum((r) => r.vcpus)).toBeLessThanOrEqual(h.capacity.vcpus * h.overcommit.cpu);
          expect(h.allocated.memoryBytes + sum((r) => r.memoryBytes)).toBeLessThanOrEqual(h.capacity.memoryBytes * h.overcommit.memory);
          expect(h.allocated.diskBytes + sum((r) => r.diskBytes)).toBeLessThanOrEqual(h.capacity.diskBytes);
          const limit = h.maxGuests ?? input.scheduler?.maxGuestsPerHost;
          if (limit !== undefined) expect(h.guests.length + adds.length).toBeLessThanOrEqual(limit);
        }
        // The plan's final state: every desktop where the moves put it; emptied hosts hold none.
        const finalHost = new Map(input.desktops.map((d) => [d.key, d.host]));
        for (const m of all) finalHost.set(m.desktop, m.to);
        for (const h of plan.emptied) expect([...finalHost.values()].filter((x) => x === h)).toEqual([]);
        // Only desktops of emptied hosts move (no half-emptied host).
        for (const m of all) expect(emptied.has(m.from)).toBe(true);
        // Every host is accounted for exactly once.
        const seen = [...plan.emptied, ...plan.empty, ...plan.leftAlone.map((l) => l.host)].sort();
        expect(seen).toEqual(input.hosts.map((h) => h.name).sort());
      }),
      { numRuns: RUNS },
    );
  });

  it('this pass stays within the limits, and defers only what a limit holds back', () => {
    fc.assert(
      fc.property(fleetArb, ({ input }) => {
        const plan = planConsolidation(input);
        const l = input.limits;
        let budget = Math.max(0, l.maxMigrations - input.inFlight.filter((m) => m.consolidation).length);
        if (l.global !== undefined) budget = Math.min(budget, Math.max(0, l.global - input.inFlight.length));
        expect(plan.moves.length).toBeLessThanOrEqual(budget);
        const out = (host: string) => plan.moves.filter((m) => m.from === host).length;
        if (l.perHostOutbound !== undefined) for (const m of plan.moves) expect(out(m.from)).toBeLessThanOrEqual(l.perHostOutbound);
        for (const m of plan.deferred) {
          expect(plan.moves.length === budget || (l.perHostOutbound !== undefined && out(m.from) === l.perHostOutbound)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('is deterministic: the same fleet in any order gives the same plan', () => {
    fc.assert(
      fc.property(fleetArb, ({ input, seed }) => {
        const shuffled: ConsolidationInput = {
          ...input,
          hosts: shuffle(input.hosts, seed),
          desktops: shuffle(input.desktops, seed + 1),
          inFlight: shuffle(input.inFlight, seed + 2),
        };
        expect(planConsolidation(shuffled)).toEqual(planConsolidation(input));
      }),
      { numRuns: RUNS },
    );
  });
});
