import { describe, expect, it } from 'vitest';
import { GiB, smallHost, world, type DesktopSpec } from './fixtures';
import { planConsolidation, type ConsolidationInput, type InFlightMigration } from './plan';

const H = ['h1', 'h2', 'h3'].map((n) => smallHost(n));

function plan(specs: readonly DesktopSpec[], o: Partial<ConsolidationInput> & { hostList?: ConsolidationInput['hosts'] } = {}) {
  const w = world(o.hostList ?? H, specs);
  return planConsolidation({ hosts: w.hosts, desktops: w.desktops, inFlight: [], limits: { maxMigrations: 10 }, ...o });
}

const reasonOf = (p: ReturnType<typeof plan>, host: string) => p.leftAlone.find((l) => l.host === host);

/** The host is left alone for `reason`, with a detail matching `detail`. */
function expectLeft(p: ReturnType<typeof plan>, host: string, reason: string, detail: string | RegExp): void {
  const l = reasonOf(p, host);
  expect(l?.reason).toBe(reason);
  if (typeof detail === 'string') expect(l?.detail).toContain(detail);
  else expect(l?.detail).toMatch(detail);
}

// h1 holds 4 of 8 vCPUs, h2 and h3 2 each: both small hosts can go to h1.
const SCATTERED: DesktopSpec[] = [
  { name: 'a', host: 'h1' },
  { name: 'b', host: 'h1' },
  { name: 'c', host: 'h2' },
  { name: 'd', host: 'h3' },
];

describe('planConsolidation', () => {
  it('packs scattered idle desktops onto the most-loaded host and empties the others', () => {
    const p = plan(SCATTERED);
    expect(p.emptied).toEqual(['h2', 'h3']);
    expect(p.moves).toEqual([
      { desktop: 'team-a/c', from: 'h2', to: 'h1' },
      { desktop: 'team-a/d', from: 'h3', to: 'h1' },
    ]);
    expect(p.deferred).toEqual([]);
    expect(reasonOf(p, 'h1')).toMatchObject({ reason: 'Receiving' });
    expect(p.summary).toMatch(/^empties 2 hosts \(h2, h3\) with 2 moves: 2 now, 0 in later passes/);
  });

  it('a desktop with a session pins its host; the host still takes desktops from others', () => {
    const p = plan(SCATTERED.map((s) => (s.name === 'c' ? { ...s, idle: false } : s)));
    expect(reasonOf(p, 'h2')).toEqual({ host: 'h2', reason: 'Busy', detail: '1 of 1 desktops in use: team-a/c (session open)' });
    expect(p.moves.map((m) => m.desktop)).toEqual(['team-a/d']);
    expect(p.moves.every((m) => m.desktop !== 'team-a/c')).toBe(true);
    expect(p.emptied).toEqual(['h3']);
  });

  it('unknown presence counts as busy', () => {
    const p = plan(SCATTERED.map((s) => (s.host === 'h2' ? { ...s, idle: undefined } : s)));
    expectLeft(p, 'h2', 'Busy', 'team-a/c (activity unknown)');
  });

  it('a hostSelector only its own host satisfies pins the host', () => {
    const hosts = [smallHost('h1'), smallHost('h2', { labels: { gpu: 'yes' } }), smallHost('h3')];
    const p = plan(
      SCATTERED.map((s) => (s.name === 'c' ? { ...s, request: { hostSelector: { gpu: 'yes' } } } : s)),
      { hostList: hosts },
    );
    expectLeft(p, 'h2', 'Pinned', /^team-a\/c fits on no other host \(0\/3 hosts available: .*didn't match host selector/);
    expect(p.emptied).toEqual(['h3']);
  });

  it('anti-affinity: a desktop does not join a host holding a desktop of the same owner', () => {
    const p = plan([
      { name: 'a', host: 'h1', request: { owner: 'team-a/alice' } },
      { name: 'b', host: 'h1' },
      { name: 'c', host: 'h2', request: { owner: 'team-a/alice', antiAffinity: 'owner' } },
    ], { hostList: [smallHost('h1'), smallHost('h2')] });
    expectLeft(p, 'h2', 'Pinned', 'anti-affinity');
    // The rule is the incoming desktop's only (as in the scheduler): alice's other desktop may join c.
    expect(p.moves).toEqual([
      { desktop: 'team-a/a', from: 'h1', to: 'h2' },
      { desktop: 'team-a/b', from: 'h1', to: 'h2' },
    ]);
  });

  it('capacity: a host is emptied only when ALL its desktops fit elsewhere', () => {
    // h1 has 2 vCPUs free: one of h2's two desktops would fit, both do not.
    const p = plan([
      { name: 'a', host: 'h1', request: { vcpus: 6 } },
      { name: 'c', host: 'h2' },
      { name: 'd', host: 'h2' },
    ], { hostList: [smallHost('h1'), smallHost('h2')] });
    expect(p.moves).toEqual([]);
    expect(p.emptied).toEqual([]);
    expectLeft(p, 'h2', 'NoRoom', 'insufficient cpu');
    expect(reasonOf(p, 'h1')).toMatchObject({ reason: 'NoRoom' });
    expect(p.summary).toMatch(/^no host can be emptied/);
  });

  it('memory counts as well as CPU', () => {
    const p = plan([
      { name: 'a', host: 'h1', request: { memoryBytes: 14 * GiB } },
      { name: 'c', host: 'h2', request: { memoryBytes: 4 * GiB } },
    ], { hostList: [smallHost('h1'), smallHost('h2')] });
    expect(p.moves).toEqual([]);
    expect(reasonOf(p, 'h2')?.detail).toContain('insufficient memory');
  });

  it('best fit: the fuller of two hosts that fit receives the desktop', () => {
    const p = plan([
      { name: 'a', host: 'h1', request: { vcpus: 2 } },
      { name: 'b', host: 'h2', request: { vcpus: 4 } },
      { name: 'c', host: 'h3', request: { vcpus: 1 } },
    ]);
    // h3 (1 vCPU) is the least loaded: it goes to h2 (4 → 5 of 8), not h1 (2 → 3).
    expect(p.moves[0]).toEqual({ desktop: 'team-a/c', from: 'h3', to: 'h2' });
  });

  it('never moves onto, or off, a host in maintenance or not Ready; never onto an empty host', () => {
    const hosts = [smallHost('h1', { maintenance: true }), smallHost('h2', { ready: false }), smallHost('h3'), smallHost('h4'), smallHost('h5')];
    const p = plan([
      { name: 'a', host: 'h1' },
      { name: 'b', host: 'h2' },
      { name: 'c', host: 'h3' },
    ], { hostList: hosts });
    expect(p.moves).toEqual([]);
    expect(p.empty).toEqual(['h4', 'h5']);
    expect(reasonOf(p, 'h1')?.reason).toBe('Maintenance');
    expect(reasonOf(p, 'h2')?.reason).toBe('NotReady');
    expectLeft(p, 'h3', 'NoRoom', '0/5 hosts available');
  });

  it('a cordoned host can be emptied but receives nothing', () => {
    const hosts = [smallHost('h1'), smallHost('h2', { schedulable: false }), smallHost('h3')];
    const p = plan(SCATTERED, { hostList: hosts });
    expect(p.moves).toEqual([
      { desktop: 'team-a/c', from: 'h2', to: 'h1' },
      { desktop: 'team-a/d', from: 'h3', to: 'h1' },
    ]);
  });

  it('desktops that are not Running, being deleted or migrating keep their host', () => {
    const p = plan([
      { name: 'a', host: 'h1' },
      { name: 'b', host: 'h1' },
      { name: 'c', host: 'h2', phase: 'Stopped' },
      { name: 'd', host: 'h3', deleting: true },
    ]);
    expect(reasonOf(p, 'h2')).toEqual({ host: 'h2', reason: 'NotMovable', detail: 'team-a/c is Stopped' });
    expect(reasonOf(p, 'h3')).toEqual({ host: 'h3', reason: 'NotMovable', detail: 'team-a/d is being deleted' });
    expect(p.moves.map((m) => m.desktop)).toEqual(['team-a/a', 'team-a/b']);
    expect(p.emptied).toEqual(['h1']);
  });

  it('a host with a migration in flight is left alone and, as its source, is no target', () => {
    const inFlight: InFlightMigration[] = [{ desktop: 'team-a/x', from: 'h1', to: 'h4', consolidation: false }];
    const hosts = [smallHost('h1'), smallHost('h2'), smallHost('h3'), smallHost('h4')];
    const specs = [...SCATTERED, { name: 'x', host: 'h1' }, { name: 'y', host: 'h4' }];
    const p = plan(specs, { hostList: hosts, inFlight });
    expect(reasonOf(p, 'h1')?.reason).toBe('MigrationInFlight');
    expect(reasonOf(p, 'h4')?.reason).toBe('MigrationInFlight');
    expect(p.moves.map((m) => m.to)).not.toContain('h1');
    expect(p.emptied).toEqual(['h2']);
    expect(p.moves).toEqual([{ desktop: 'team-a/c', from: 'h2', to: 'h3' }]);
  });

  it('maxMigrations: the plan is complete, this pass takes the first moves, in-flight consolidation migrations count', () => {
    const specs: DesktopSpec[] = [
      { name: 'a', host: 'h1' },
      { name: 'b', host: 'h1' },
      { name: 'c', host: 'h2' },
      { name: 'd', host: 'h3' },
    ];
    const hosts = [...H, smallHost('h9')];
    const full = plan(specs, { hostList: hosts, limits: { maxMigrations: 1 } });
    expect(full.emptied).toEqual(['h2', 'h3']);
    expect(full.moves).toEqual([{ desktop: 'team-a/c', from: 'h2', to: 'h1' }]);
    expect(full.deferred).toEqual([{ desktop: 'team-a/d', from: 'h3', to: 'h1' }]);

    const busyElsewhere: InFlightMigration[] = [{ desktop: 'team-b/z', consolidation: true }];
    const none = plan(specs, { hostList: hosts, limits: { maxMigrations: 1 }, inFlight: busyElsewhere });
    expect(none.moves).toEqual([]);
    expect(none.deferred).toHaveLength(2);
    // A drain's migration in flight does not use consolidation's budget, only the global one.
    const drain = plan(specs, { hostList: hosts, limits: { maxMigrations: 2, global: 2 }, inFlight: [{ desktop: 'team-b/z', consolidation: false }] });
    expect(drain.moves).toHaveLength(1);
  });

  it('per-host outbound limit: at most that many moves off one host per pass', () => {
    const hosts = [smallHost('big', { capacity: { vcpus: 32, memoryBytes: 64 * GiB, diskBytes: 2000 * GiB } }), smallHost('h2')];
    const specs: DesktopSpec[] = [
      { name: 'a', host: 'big', request: { vcpus: 16 } },
      { name: 'c', host: 'h2' },
      { name: 'd', host: 'h2' },
      { name: 'e', host: 'h2' },
    ];
    const p = plan(specs, { hostList: hosts, limits: { maxMigrations: 5, perHostOutbound: 2 } });
    expect(p.emptied).toEqual(['h2']);
    expect(p.moves).toHaveLength(2);
    expect(p.deferred).toHaveLength(1);
  });

  it('is deterministic: input order does not change the plan', () => {
    const w = world(H, SCATTERED);
    const a = planConsolidation({ hosts: w.hosts, desktops: w.desktops, inFlight: [], limits: { maxMigrations: 1 } });
    const b = planConsolidation({ hosts: [...w.hosts].reverse(), desktops: [...w.desktops].reverse(), inFlight: [], limits: { maxMigrations: 1 } });
    expect(b).toEqual(a);
  });

  it('a guest the desktop list does not know (placement without a desktop) pins the host', () => {
    const w = world(H, SCATTERED);
    const hosts = w.hosts.map((h) => (h.name === 'h2' ? { ...h, guests: [...h.guests, { desktop: 'team-a/ghost', owner: 'x' }] } : h));
    const p = planConsolidation({ hosts, desktops: w.desktops, inFlight: [], limits: { maxMigrations: 5 } });
    expect(reasonOf(p, 'h2')).toEqual({ host: 'h2', reason: 'NotMovable', detail: 'team-a/ghost is not known' });
  });
});
