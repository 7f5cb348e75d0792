import { describe, expect, it } from 'vitest';
import {
  SchedulerConfigError,
  SchedulerInputError,
  formatUnschedulableMessage,
  schedule,
  scheduleBatch,
  type HostCandidate,
  type SchedulerConfig,
} from './index';
import { GiB, desktop, host } from './fixtures';

describe('formatUnschedulableMessage', () => {
  it.each([
    [5, [['insufficient memory', 3], ['in maintenance', 2]], '0/5 hosts available: 3 insufficient memory, 2 in maintenance'],
    [5, [['in maintenance', 2], ['insufficient memory', 3]], '0/5 hosts available: 3 insufficient memory, 2 in maintenance'],
    [4, [['not ready', 2], ['insufficient cpu', 2]], '0/4 hosts available: 2 insufficient cpu, 2 not ready'],
    [1, [["didn't match host selector", 1]], "0/1 hosts available: 1 didn't match host selector"],
    [0, [], '0/0 hosts available'],
  ] as const)('%d hosts %o', (n, counts, want) => {
    expect(formatUnschedulableMessage(n, counts)).toBe(want);
  });
});

describe('schedule', () => {
  const fleet: HostCandidate[] = [
    host('m1', { maintenance: true, schedulable: false }),
    host('m2', { maintenance: true }),
    host('full-1', { allocated: { memoryBytes: 126 * GiB } }),
    host('full-2', { allocated: { memoryBytes: 127 * GiB } }),
    host('full-3', { allocated: { memoryBytes: 128 * GiB } }),
  ];

  it('explains an unschedulable desktop like kube-scheduler', () => {
    const r = schedule(desktop('d'), fleet);
    expect(r).toMatchObject({
      ok: false,
      reasons: { Maintenance: 2, InsufficientMemory: 3 },
      message: '0/5 hosts available: 3 insufficient memory, 2 in maintenance',
    });
    if (r.ok) return;
    expect(r.rejections.map((x) => [x.host, x.code])).toEqual([
      ['m1', 'Maintenance'],
      ['m2', 'Maintenance'],
      ['full-1', 'InsufficientMemory'],
      ['full-2', 'InsufficientMemory'],
      ['full-3', 'InsufficientMemory'],
    ]);
    expect(r.rejections[2]!.detail).toBe('insufficient memory (requested 4 GiB, 2 GiB of 128 GiB free)');
  });

  it('says which desktop an anti-affinity conflict is with', () => {
    const hosts = [host('a', { guests: [{ desktop: 'team-a/d0', owner: 'alice' }] }), host('b', { ready: false })];
    const r = schedule(desktop('d1', { antiAffinity: 'owner' }), hosts);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toBe('0/2 hosts available: 1 anti-affinity with another desktop of owner alice, 1 not ready');
    expect(r.rejections[0]!.detail).toBe('anti-affinity with desktop team-a/d0 of owner alice');
  });

  it('says 0/0 with no hosts', () => {
    expect(schedule(desktop('d'), [])).toEqual({ ok: false, reasons: {}, message: '0/0 hosts available', rejections: [] });
  });

  const loads: HostCandidate[] = [
    host('empty'),
    host('half', { allocated: { vcpus: 64, memoryBytes: 64 * GiB } }),
    host('most', { allocated: { vcpus: 100, memoryBytes: 100 * GiB } }),
  ];

  it('bin-pack picks the most allocated host, spread the least', () => {
    expect(schedule(desktop('d'), loads, { strategy: 'binPack' })).toMatchObject({ ok: true, host: 'most' });
    expect(schedule(desktop('d'), loads, { strategy: 'spread' })).toMatchObject({ ok: true, host: 'empty' });
    expect(schedule(desktop('d'), loads, { strategy: { binPack: 2, spread: 1 } })).toMatchObject({ ok: true, host: 'most' });
  });

  it('skips hosts that fail a filter even when they score best', () => {
    const r = schedule(desktop('d', { excludeHosts: ['most'] }), loads, { strategy: 'binPack' });
    expect(r).toMatchObject({ ok: true, host: 'half' });
  });

  it('breaks score ties by host name, whatever the input order', () => {
    const same = ['c', 'a', 'b'].map((n) => host(n));
    for (const order of [same, [...same].reverse(), [same[1]!, same[2]!, same[0]!]]) {
      expect(schedule(desktop('d'), order, { strategy: 'spread' })).toMatchObject({ host: 'a' });
      expect(schedule(desktop('d'), order, { strategy: 'binPack' })).toMatchObject({ host: 'a' });
    }
  });

  it('returns every feasible score, best first, with explain', () => {
    const r = schedule(desktop('d', { excludeHosts: ['half'] }), loads, { strategy: 'binPack' }, { explain: true });
    expect(r.ok && r.scores?.map((s) => s.host)).toEqual(['most', 'empty']);
    expect(r.ok && r.scores?.[0]?.score).toBe(r.ok && r.score);
  });

  it('is deterministic: same input, same output', () => {
    const a = schedule(desktop('d'), loads, { strategy: 'binPack' }, { explain: true });
    const b = schedule(desktop('d'), structuredClone(loads), { strategy: 'binPack' }, { explain: true });
    expect(b).toEqual(a);
  });

  it.each<[string, SchedulerConfig]>([
    ['negative weight', { strategy: { binPack: -1, spread: 1 } }],
    ['zero strategy weights', { strategy: { binPack: 0, spread: 0 } }],
    ['NaN weight', { strategy: { binPack: NaN, spread: 1 } }],
    ['zero resource weights', { resourceWeights: { cpu: 0, memory: 0 } }],
    ['unknown profile', { strategy: 'random' as 'spread' }],
    ['negative max guests', { maxGuestsPerHost: -1 }],
  ])('rejects a config with %s', (_n, config) => {
    expect(() => schedule(desktop('d'), loads, config)).toThrow(SchedulerConfigError);
  });

  it('rejects duplicate host names and negative requests', () => {
    expect(() => schedule(desktop('d'), [host('a'), host('a')])).toThrow(SchedulerInputError);
    expect(() => schedule(desktop('d', { vcpus: -1 }), [host('a')])).toThrow(/vcpus must be/);
  });
});

describe('scheduleBatch', () => {
  it('sees its own earlier placements', () => {
    const hosts = [host('a', { capacity: { memoryBytes: 8 * GiB } }), host('b', { capacity: { memoryBytes: 8 * GiB } })];
    const ds = ['d1', 'd2', 'd3', 'd4', 'd5'].map((n) => desktop(n, { memoryBytes: 4 * GiB }));
    const { placements, hosts: after } = scheduleBatch(ds, hosts, { strategy: 'binPack' });
    expect(placements.map((p) => (p.result.ok ? p.result.host : p.result.message))).toEqual([
      'a', 'a', 'b', 'b', '0/2 hosts available: 2 insufficient memory',
    ]);
    expect(after.map((h) => [h.name, h.allocated.memoryBytes / GiB, h.guests.map((g) => g.desktop)])).toEqual([
      ['a', 8, ['team-a/d1', 'team-a/d2']],
      ['b', 8, ['team-a/d3', 'team-a/d4']],
    ]);
  });

  it('spreads round-robin over equal hosts', () => {
    const hosts = ['a', 'b', 'c'].map((n) => host(n));
    const { placements } = scheduleBatch(['1', '2', '3', '4'].map((n) => desktop(n)), hosts, { strategy: 'spread' });
    expect(placements.map((p) => p.result.ok && p.result.host)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('applies anti-affinity to desktops placed in the same batch', () => {
    const hosts = ['a', 'b'].map((n) => host(n));
    const ds = ['1', '2', '3'].map((n) => desktop(n, { antiAffinity: 'owner' }));
    const { placements } = scheduleBatch(ds, hosts, { strategy: 'binPack' });
    expect(placements.map((p) => (p.result.ok ? p.result.host : p.result.message))).toEqual([
      'a', 'b', '0/2 hosts available: 2 anti-affinity with another desktop of owner alice',
    ]);
  });

  it('never mutates its inputs and returns untouched hosts as they were', () => {
    const hosts = [host('a'), host('b', { ready: false })];
    const ds = [desktop('1')];
    const before = structuredClone({ hosts, ds });
    const { hosts: after } = scheduleBatch(ds, hosts);
    expect({ hosts, ds }).toEqual(before);
    expect(after[0]).not.toBe(hosts[0]);
    expect(after[1]).toBe(hosts[1]);
  });
});
