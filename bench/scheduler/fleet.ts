/**
 * A seeded, realistic random fleet and desktop mix for the scheduler benchmark. Same seed,
 * same fleet, on any machine.
 */
import type { DesktopRequest, HostCandidate, SelectorRequirement } from '@deskplane/desktop-operator';

export const GiB = 1024 ** 3;

/** mulberry32: tiny, fast, good enough to draw a fleet. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(rand: () => number, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rand() * total;
  for (const [item, w] of items) if ((x -= w) < 0) return item;
  return items[items.length - 1]![0];
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** Host SKUs: [vCPUs (threads), memory GiB], weighted like a fleet bought over a few years. */
const SKUS: ReadonlyArray<readonly [readonly [number, number], number]> = [
  [[32, 128], 15],
  [[48, 256], 20],
  [[64, 384], 20],
  [[64, 512], 20],
  [[96, 768], 15],
  [[128, 1024], 10],
];

/**
 * `n` empty hosts: 32–128 vCPUs, 128–1024 GiB, 1.5–12 TiB disk, overcommit CPU 4 / memory 1.0;
 * labels zone (a/b/c), cpu-gen, 8 % with gpu=true; 1 % not ready, 1 % in maintenance,
 * 1 % cordoned.
 */
export function makeHosts(n: number, seed: number): HostCandidate[] {
  const rand = rng(seed);
  const hosts: HostCandidate[] = [];
  for (let i = 0; i < n; i++) {
    const [vcpus, memGiB] = weighted(rand, SKUS);
    const labels: Record<string, string> = {
      zone: pick(rand, ['a', 'b', 'c']),
      'cpu-gen': pick(rand, ['icelake', 'sapphirerapids', 'genoa']),
    };
    if (rand() < 0.08) labels.gpu = 'true';
    const state = rand();
    hosts.push({
      name: `kvm-${String(i).padStart(4, '0')}`,
      labels,
      ready: !(state < 0.01),
      maintenance: state >= 0.01 && state < 0.02,
      schedulable: !(state >= 0.02 && state < 0.03),
      // Local NVMe grows with the SKU: 12 GiB of disk per GiB of memory (1.5–12 TiB).
      capacity: { vcpus, memoryBytes: memGiB * GiB, diskBytes: memGiB * 12 * GiB },
      overcommit: { cpu: 4, memory: 1.0 },
      allocated: { vcpus: 0, memoryBytes: 0, diskBytes: 0 },
      guests: [],
    });
  }
  return hosts;
}

/** Desktop sizes: [vCPUs, memory GiB], weighted. */
const SIZES: ReadonlyArray<readonly [readonly [number, number], number]> = [
  [[1, 2], 5],
  [[2, 4], 35],
  [[4, 8], 30],
  [[4, 16], 20],
  [[8, 32], 10],
];

/**
 * `n` desktops in arrival order: 1–8 vCPUs, 2–32 GiB, 40–200 GiB disk; ~3,000 owners,
 * 30 % with owner anti-affinity; 20 % in one of 40 pools, half the pools with pool
 * anti-affinity; 15 % pinned to a zone, 5 % needing a GPU host, 5 % avoiding icelake.
 */
export function makeDesktops(n: number, seed: number): DesktopRequest[] {
  const rand = rng(seed ^ 0x9e3779b9);
  const owners = Math.max(1, Math.round(n * 0.3));
  const out: DesktopRequest[] = [];
  for (let i = 0; i < n; i++) {
    const [vcpus, memGiB] = weighted(rand, SIZES);
    const tenant = `tenant-${Math.floor(rand() * 50)}`;
    const pooled = rand() < 0.2;
    const poolNo = Math.floor(rand() * 40);
    let hostSelector: Record<string, string> | undefined;
    let matchExpressions: SelectorRequirement[] | undefined;
    const s = rand();
    if (s < 0.15) hostSelector = { zone: pick(rand, ['a', 'b', 'c']) };
    else if (s < 0.2) hostSelector = { gpu: 'true' };
    else if (s < 0.25) matchExpressions = [{ key: 'cpu-gen', operator: 'NotIn', values: ['icelake'] }];
    const antiAffinity = pooled ? (poolNo % 2 === 0 ? 'pool' : 'none') : rand() < 0.3 ? 'owner' : 'none';
    out.push({
      name: `desk-${i}`,
      namespace: tenant,
      owner: `${tenant}/user-${Math.floor(rand() * owners)}`,
      ...(pooled ? { pool: `pool-${poolNo}` } : {}),
      vcpus,
      memoryBytes: memGiB * GiB,
      diskBytes: pick(rand, [40, 60, 80, 120, 200]) * GiB,
      ...(hostSelector ? { hostSelector } : {}),
      ...(matchExpressions ? { matchExpressions } : {}),
      antiAffinity,
    });
  }
  return out;
}
