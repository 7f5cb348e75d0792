import { describe, expect, it } from 'vitest';
import {
  FILTER_ORDER,
  filterAntiAffinity,
  filterCpu,
  filterDisk,
  filterExcluded,
  filterHostSelector,
  filterMaintenance,
  filterMaxGuests,
  filterMemory,
  filterReady,
  filterSchedulable,
  prepareHost,
  prepareRequest,
  reasonDetail,
  reasonSummary,
  resolveConfig,
  runFilters,
  type Filter,
  type ReasonCode,
  type SelectorRequirement,
} from './index';
import { GiB, desktop, host } from './fixtures';
import type { DesktopRequest, HostCandidate, SchedulerConfig } from './types';

const run = (f: Filter, d: DesktopRequest, h: HostCandidate, c: SchedulerConfig = {}) =>
  f(prepareRequest(d), prepareHost(h, resolveConfig(c)));

type Row = [string, DesktopRequest, HostCandidate, ReasonCode | undefined, SchedulerConfig?];

const tables: Array<[string, Filter, Row[]]> = [
  ['filterReady', filterReady, [
    ['ready host passes', desktop('d'), host('h'), undefined],
    ['not ready host fails', desktop('d'), host('h', { ready: false }), 'NotReady'],
  ]],
  ['filterMaintenance', filterMaintenance, [
    ['normal host passes', desktop('d'), host('h'), undefined],
    ['host in maintenance fails', desktop('d'), host('h', { maintenance: true }), 'Maintenance'],
  ]],
  ['filterSchedulable', filterSchedulable, [
    ['schedulable host passes', desktop('d'), host('h'), undefined],
    ['cordoned host fails', desktop('d'), host('h', { schedulable: false }), 'Unschedulable'],
  ]],
  ['filterExcluded', filterExcluded, [
    ['no exclusions passes', desktop('d'), host('h'), undefined],
    ['other host excluded passes', desktop('d', { excludeHosts: ['x'] }), host('h'), undefined],
    ['this host excluded fails', desktop('d', { excludeHosts: ['x', 'h'] }), host('h'), 'Excluded'],
  ]],
  ['filterHostSelector', filterHostSelector, [
    ['no selector passes', desktop('d'), host('h', { labels: { zone: 'a' } }), undefined],
    ['matchLabels equal passes', desktop('d', { hostSelector: { zone: 'a' } }), host('h', { labels: { zone: 'a', gpu: 'x' } }), undefined],
    ['matchLabels other value fails', desktop('d', { hostSelector: { zone: 'a' } }), host('h', { labels: { zone: 'b' } }), 'NodeSelectorMismatch'],
    ['matchLabels missing key fails', desktop('d', { hostSelector: { zone: 'a' } }), host('h'), 'NodeSelectorMismatch'],
    ['prototype key is not a label', desktop('d', { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }), host('h'), 'NodeSelectorMismatch'],
  ]],
  ['filterAntiAffinity', filterAntiAffinity, [
    ['none ignores same owner', desktop('d'), host('h', { guests: [{ desktop: 'team-a/x', owner: 'alice' }] }), undefined],
    ['owner: same owner fails', desktop('d', { antiAffinity: 'owner' }), host('h', { guests: [{ desktop: 'team-a/x', owner: 'alice' }] }), 'AntiAffinity'],
    ['owner: other owner passes', desktop('d', { antiAffinity: 'owner' }), host('h', { guests: [{ desktop: 'team-a/x', owner: 'bob' }] }), undefined],
    ['pool: same pool fails', desktop('d', { antiAffinity: 'pool', pool: 'p' }), host('h', { guests: [{ desktop: 'team-a/x', owner: 'bob', pool: 'p' }] }), 'AntiAffinity'],
    ['pool: same owner other pool passes', desktop('d', { antiAffinity: 'pool', pool: 'p' }), host('h', { guests: [{ desktop: 'team-a/x', owner: 'alice', pool: 'q' }] }), undefined],
    ['pool without a pool is a no-op', desktop('d', { antiAffinity: 'pool' }), host('h', { guests: [{ desktop: 'team-a/x', owner: 'alice' }] }), undefined],
  ]],
  ['filterMaxGuests', filterMaxGuests, [
    ['no limit passes', desktop('d'), host('h', { guests: [{ desktop: 'a', owner: 'o' }] }), undefined],
    ['below host limit passes', desktop('d'), host('h', { maxGuests: 2, guests: [{ desktop: 'a', owner: 'o' }] }), undefined],
    ['at host limit fails', desktop('d'), host('h', { maxGuests: 1, guests: [{ desktop: 'a', owner: 'o' }] }), 'TooManyGuests'],
    ['at config default fails', desktop('d'), host('h', { guests: [{ desktop: 'a', owner: 'o' }] }), 'TooManyGuests', { maxGuestsPerHost: 1 }],
    ['host limit overrides config', desktop('d'), host('h', { maxGuests: 5, guests: [{ desktop: 'a', owner: 'o' }] }), undefined, { maxGuestsPerHost: 1 }],
    ['limit 0 admits nothing', desktop('d'), host('h', { maxGuests: 0 }), 'TooManyGuests'],
  ]],
  ['filterCpu', filterCpu, [
    // 32 vCPUs × 4 = 128 allocatable
    ['exactly full passes', desktop('d', { vcpus: 8 }), host('h', { allocated: { vcpus: 120 } }), undefined],
    ['one over fails', desktop('d', { vcpus: 9 }), host('h', { allocated: { vcpus: 120 } }), 'InsufficientCPU'],
    ['ratio 1 means physical', desktop('d', { vcpus: 33 }), host('h', { overcommit: { cpu: 1 } }), 'InsufficientCPU'],
    ['fractional ratio floors', desktop('d', { vcpus: 5 }), host('h', { capacity: { vcpus: 3 }, overcommit: { cpu: 1.5 } }), 'InsufficientCPU'],
    ['fractional ratio fits below', desktop('d', { vcpus: 4 }), host('h', { capacity: { vcpus: 3 }, overcommit: { cpu: 1.5 } }), undefined],
    ['already overcommitted host fails', desktop('d', { vcpus: 0 }), host('h', { allocated: { vcpus: 129 } }), 'InsufficientCPU'],
  ]],
  ['filterMemory', filterMemory, [
    ['exactly full passes', desktop('d', { memoryBytes: 8 * GiB }), host('h', { allocated: { memoryBytes: 120 * GiB } }), undefined],
    ['one byte over fails', desktop('d', { memoryBytes: 8 * GiB + 1 }), host('h', { allocated: { memoryBytes: 120 * GiB } }), 'InsufficientMemory'],
    ['memory overcommit 1.5', desktop('d', { memoryBytes: 190 * GiB }), host('h', { overcommit: { memory: 1.5 } }), undefined],
  ]],
  ['filterDisk', filterDisk, [
    ['exactly full passes', desktop('d', { diskBytes: 48 * GiB }), host('h', { allocated: { diskBytes: 2000 * GiB } }), undefined],
    ['one byte over fails', desktop('d', { diskBytes: 48 * GiB + 1 }), host('h', { allocated: { diskBytes: 2000 * GiB } }), 'InsufficientDisk'],
    ['disk is never overcommitted', desktop('d', { diskBytes: 2049 * GiB }), host('h', { overcommit: { cpu: 10, memory: 10 } }), 'InsufficientDisk'],
  ]],
];

describe.each(tables)('%s', (_name, filter, rows) => {
  it.each(rows)('%s', (_t, d, h, want, config) => {
    expect(run(filter, d, h, config)).toBe(want);
  });
});

describe('matchExpressions', () => {
  const labels = { zone: 'a', gpu: 'nvidia' };
  const rows: Array<[SelectorRequirement, boolean]> = [
    [{ key: 'zone', operator: 'In', values: ['a', 'b'] }, true],
    [{ key: 'zone', operator: 'In', values: ['b'] }, false],
    [{ key: 'rack', operator: 'In', values: ['1'] }, false],
    [{ key: 'zone', operator: 'In', values: [] }, false],
    [{ key: 'zone', operator: 'NotIn', values: ['b'] }, true],
    [{ key: 'zone', operator: 'NotIn', values: ['a'] }, false],
    [{ key: 'rack', operator: 'NotIn', values: ['1'] }, true],
    [{ key: 'zone', operator: 'NotIn', values: [] }, true],
    [{ key: 'gpu', operator: 'Exists' }, true],
    [{ key: 'rack', operator: 'Exists' }, false],
    [{ key: 'rack', operator: 'DoesNotExist' }, true],
    [{ key: 'gpu', operator: 'DoesNotExist' }, false],
  ];
  it.each(rows)('%o on {zone: a, gpu: nvidia} → %s', (req, matches) => {
    const got = run(filterHostSelector, desktop('d', { matchExpressions: [req] }), host('h', { labels }));
    expect(got === undefined).toBe(matches);
  });

  it('ANDs matchLabels and every expression', () => {
    const d = (zone: string) =>
      desktop('d', { hostSelector: { zone }, matchExpressions: [{ key: 'gpu', operator: 'Exists' }, { key: 'rack', operator: 'DoesNotExist' }] });
    expect(run(filterHostSelector, d('a'), host('h', { labels }))).toBeUndefined();
    expect(run(filterHostSelector, d('b'), host('h', { labels }))).toBe('NodeSelectorMismatch');
  });
});

describe('filter order', () => {
  const failsEverything = host('h', {
    ready: false,
    maintenance: true,
    schedulable: false,
    maxGuests: 1,
    labels: { zone: 'b' },
    guests: [{ desktop: 'team-a/x', owner: 'alice' }],
    allocated: { vcpus: 128, memoryBytes: 128 * GiB, diskBytes: 2048 * GiB },
  });
  const d = desktop('d', { excludeHosts: ['h'], hostSelector: { zone: 'a' }, antiAffinity: 'owner' });

  it('is the documented one', () => {
    expect(FILTER_ORDER.map((f) => f.code)).toEqual([
      'NotReady', 'Maintenance', 'Unschedulable', 'Excluded', 'NodeSelectorMismatch',
      'AntiAffinity', 'TooManyGuests', 'InsufficientCPU', 'InsufficientMemory', 'InsufficientDisk',
    ]);
  });

  it('each filter reports its own code on a host that fails everything', () => {
    const req = prepareRequest(d);
    const h = prepareHost(failsEverything, resolveConfig());
    for (const { code, filter } of FILTER_ORDER) expect(filter(req, h)).toBe(code);
  });

  it('runFilters returns the first failing filter, in FILTER_ORDER', () => {
    // Fix the failures one at a time, front to back: the reason moves down the order.
    const fixes: Array<(h: HostCandidate, d: DesktopRequest) => [HostCandidate, DesktopRequest]> = [
      (h, x) => [{ ...h, ready: true }, x],
      (h, x) => [{ ...h, maintenance: false }, x],
      (h, x) => [{ ...h, schedulable: true }, x],
      (h, x) => [h, { ...x, excludeHosts: [] }],
      (h, x) => [{ ...h, labels: { zone: 'a' } }, x],
      (h, x) => [h, { ...x, antiAffinity: 'none' }],
      (h, x) => [{ ...h, maxGuests: 2 }, x],
      (h, x) => [{ ...h, allocated: { ...h.allocated, vcpus: 0 } }, x],
      (h, x) => [{ ...h, allocated: { ...h.allocated, memoryBytes: 0 } }, x],
      (h, x) => [{ ...h, allocated: { ...h.allocated, diskBytes: 0 } }, x],
    ];
    let h = failsEverything;
    let x = d;
    for (let i = 0; i < FILTER_ORDER.length; i++) {
      expect(runFilters(prepareRequest(x), prepareHost(h, resolveConfig()))).toBe(FILTER_ORDER[i]!.code);
      [h, x] = fixes[i]!(h, x);
    }
    expect(runFilters(prepareRequest(x), prepareHost(h, resolveConfig()))).toBeUndefined();
  });
});

describe('reason texts', () => {
  it('has the kube-like summaries', () => {
    const req = prepareRequest(desktop('d', { antiAffinity: 'owner' }));
    const want: Record<ReasonCode, string> = {
      NotReady: 'not ready',
      Maintenance: 'in maintenance',
      Unschedulable: 'unschedulable',
      Excluded: 'excluded by request',
      NodeSelectorMismatch: "didn't match host selector",
      AntiAffinity: 'anti-affinity with another desktop of owner alice',
      TooManyGuests: 'too many guests',
      InsufficientCPU: 'insufficient cpu',
      InsufficientMemory: 'insufficient memory',
      InsufficientDisk: 'insufficient disk',
    };
    for (const code of Object.keys(want) as ReasonCode[]) expect(reasonSummary(code, req)).toBe(want[code]);
  });

  it('names the conflicting desktop per host', () => {
    const h = prepareHost(host('h', { guests: [{ desktop: 'team-a/web-1', owner: 'bob', pool: 'team-a/web' }] }), resolveConfig());
    const req = prepareRequest(desktop('d', { antiAffinity: 'pool', pool: 'team-a/web' }));
    expect(reasonSummary('AntiAffinity', req)).toBe('anti-affinity with another desktop of pool team-a/web');
    expect(reasonDetail('AntiAffinity', req, h)).toBe('anti-affinity with desktop team-a/web-1 of pool team-a/web');
  });

  it('gives amounts for capacity failures', () => {
    const h = prepareHost(host('h', { allocated: { vcpus: 126, memoryBytes: 124 * GiB }, maxGuests: 3, guests: [] }), resolveConfig());
    const req = prepareRequest(desktop('d', { vcpus: 4, memoryBytes: 6 * GiB }));
    expect(reasonDetail('InsufficientCPU', req, h)).toBe('insufficient cpu (requested 4 vCPUs, 2 of 128 free)');
    expect(reasonDetail('InsufficientMemory', req, h)).toBe('insufficient memory (requested 6 GiB, 4 GiB of 128 GiB free)');
    expect(reasonDetail('TooManyGuests', req, h)).toBe('too many guests (0 of at most 3)');
  });
});
