import { describe, expect, it } from 'vitest';
import { binPackScore, combinedScore, consolidateScore, prepareHost, prepareHosts, prepareRequest, resolveConfig, spreadScore, utilization } from './index';
import { GiB, desktop, host } from './fixtures';
import type { SchedulerConfig } from './types';

// host(): 128 allocatable vCPUs (32 × 4), 128 GiB memory.
const h = (vcpus: number, memGiB: number) => prepareHost(host('h', { allocated: { vcpus, memoryBytes: memGiB * GiB } }), resolveConfig());
const d = (vcpus: number, memGiB: number) => prepareRequest(desktop('d', { vcpus, memoryBytes: memGiB * GiB }));

describe('utilization', () => {
  it.each([
    [0, 0, 10, 0],
    [2, 3, 10, 0.5],
    [10, 0, 10, 1],
    [12, 0, 10, 1], // already over: clamped
    [0, 0, 0, 1], // nothing allocatable counts as full
  ])('used %d + requested %d of %d → %d', (used, req, alloc, want) => {
    expect(utilization(used, req, alloc)).toBe(want);
  });
});

describe('binPackScore and spreadScore (after placement)', () => {
  it.each([
    // used cpu, used GiB, req cpu, req GiB, resourceWeights, binPack, spread
    [0, 0, 0, 0, { cpu: 1, memory: 1 }, 0, 100],
    [62, 60, 2, 4, { cpu: 1, memory: 1 }, 50, 50],
    [126, 124, 2, 4, { cpu: 1, memory: 1 }, 100, 0],
    [32, 0, 0, 64, { cpu: 1, memory: 1 }, 37.5, 62.5], // cpu 0.25, memory 0.5
    [32, 0, 0, 64, { cpu: 1, memory: 0 }, 25, 75],
    [32, 0, 0, 64, { cpu: 0, memory: 3 }, 50, 50],
    [32, 0, 0, 64, { cpu: 1, memory: 3 }, 43.75, 56.25],
  ])('host %d vCPU/%d GiB used + %d/%d, weights %o → binPack %d, spread %d', (uc, um, rc, rm, resourceWeights, bp, sp) => {
    const config = resolveConfig({ resourceWeights });
    expect(binPackScore(d(rc, rm), h(uc, um), config)).toBeCloseTo(bp, 10);
    expect(spreadScore(d(rc, rm), h(uc, um), config)).toBeCloseTo(sp, 10);
  });
});

describe('combinedScore', () => {
  const cases: Array<[string, SchedulerConfig, number]> = [
    ['binPack profile', { strategy: 'binPack' }, 37.5],
    ['spread profile', { strategy: 'spread' }, 62.5],
    ['default is spread', {}, 62.5],
    ['3:1 weights', { strategy: { binPack: 3, spread: 1 } }, 0.75 * 37.5 + 0.25 * 62.5],
    ['equal weights', { strategy: { binPack: 1, spread: 1 } }, 50],
  ];
  it.each(cases)('%s', (_n, config, want) => {
    expect(combinedScore(d(0, 64), h(32, 0), resolveConfig(config))).toBeCloseTo(want, 10);
  });

  it('stays within 0..100', () => {
    for (const [uc, um] of [[0, 0], [128, 128], [500, 500]] as const) {
      for (const strategy of ['binPack', 'spread'] as const) {
        const s = combinedScore(d(0, 0), h(uc, um), resolveConfig({ strategy }));
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(100);
      }
    }
  });
});

describe('consolidateScore (fewest hosts in use)', () => {
  // Two hosts of different sizes in one fleet: 128/128 GiB (host()) and 32/32 GiB.
  const fleet = (smallUsed: number, bigUsed: number) =>
    prepareHosts(
      [
        host('big', { allocated: { vcpus: bigUsed, memoryBytes: bigUsed * GiB } }),
        host('small', { capacity: { vcpus: 8, memoryBytes: 32 * GiB, diskBytes: 1e12 }, allocated: { vcpus: smallUsed, memoryBytes: smallUsed * GiB } }),
      ],
      resolveConfig({ strategy: 'consolidate' }),
    );
  const config = resolveConfig({ strategy: 'consolidate' });

  it('opens the larger of two empty hosts first', () => {
    const [big, small] = fleet(0, 0);
    expect(consolidateScore(d(2, 2), big!, config)).toBeGreaterThan(consolidateScore(d(2, 2), small!, config));
  });

  it('prefers a host already in use to an empty one, even a smaller one', () => {
    const [big, small] = fleet(16, 0);
    expect(consolidateScore(d(2, 2), small!, config)).toBeGreaterThan(consolidateScore(d(2, 2), big!, config));
  });

  it('measures against the fleet, not the host: binPack ranks a nearly full small host above everything', () => {
    const [big, small] = fleet(24, 64);
    const bp = resolveConfig({ strategy: 'binPack' });
    expect(binPackScore(d(2, 2), small!, bp)).toBeGreaterThan(binPackScore(d(2, 2), big!, bp));
    expect(consolidateScore(d(2, 2), big!, config)).toBeGreaterThan(consolidateScore(d(2, 2), small!, config));
  });

  it('stays within 0..100 and is the combined score of the consolidate profile', () => {
    const [big] = fleet(0, 500);
    const s = consolidateScore(d(0, 0), big!, config);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThanOrEqual(100);
    expect(combinedScore(d(0, 0), big!, config)).toBeCloseTo(s, 10);
  });
});
