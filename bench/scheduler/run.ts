/**
 * Scheduler benchmark: placements per second and hosts used, for each strategy, against a
 * first-fit-decreasing packing and a volume lower bound computed in the same run.
 *
 *   npx tsx --conditions=source bench/scheduler/run.ts [--hosts 1000] [--desktops 10000] [--seed 1] [--reps 5]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { scheduleBatch, type DesktopRequest, type HostCandidate, type SchedulerConfig } from '@deskplane/desktop-operator';
import { decreasing, firstFitDecreasing, lowerBound } from './baselines';
import { makeDesktops, makeHosts } from './fleet';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1000' },
    desktops: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    reps: { type: 'string', default: '5' },
  },
});
const nHosts = Number(values.hosts);
const nDesktops = Number(values.desktops);
const seed = Number(values.seed);
const reps = Math.max(1, Number(values.reps));
const MAX_GUESTS = 100;

const hosts = makeHosts(nHosts, seed);
const arrivals = makeDesktops(nDesktops, seed);
const sorted = decreasing(arrivals, hosts);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Independent check of the output: no host past its overcommit, disk or guest limits. */
function checkLimits(after: readonly HostCandidate[]): void {
  for (const h of after) {
    const over =
      h.allocated.vcpus > h.capacity.vcpus * h.overcommit.cpu ||
      h.allocated.memoryBytes > h.capacity.memoryBytes * h.overcommit.memory ||
      h.allocated.diskBytes > h.capacity.diskBytes ||
      h.guests.length > (h.maxGuests ?? MAX_GUESTS);
    if (over) throw new Error(`host ${h.name} is over its limits`);
  }
}

interface Row {
  /** The most common unschedulable message, for the notes. */
  topMessage?: string;
  strategy: string;
  order: string;
  perSecond: number;
  perCpuSecond: number;
  hostsUsed: number;
  /** Allocatable memory of the hosts used ÷ memory placed: 1.0 = the used hosts are full. */
  memoryFootprint: number;
  unschedulable: number;
}

function footprint(after: readonly HostCandidate[]): number {
  const used = after.filter((h) => h.guests.length > 0);
  const alloc = used.reduce((s, h) => s + Math.floor(h.capacity.memoryBytes * h.overcommit.memory), 0);
  return alloc / used.reduce((s, h) => s + h.allocated.memoryBytes, 0);
}

function mostCommon(xs: string[]): string | undefined {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Wall-clock and process CPU time of one call (CPU time is steadier on a shared machine). */
function timed<T>(fn: () => T): { value: T; seconds: number; cpuSeconds: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, seconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

function measure(strategy: string, order: string, desktops: readonly DesktopRequest[], config: SchedulerConfig): Row {
  timed(() => scheduleBatch(desktops, hosts, config)); // warm-up, not counted
  const rates: number[] = [];
  const cpuRates: number[] = [];
  let last: ReturnType<typeof scheduleBatch> | undefined;
  for (let i = 0; i < reps; i++) {
    const { value, seconds, cpuSeconds } = timed(() => scheduleBatch(desktops, hosts, config));
    rates.push(desktops.length / seconds);
    cpuRates.push(desktops.length / cpuSeconds);
    last = value;
  }
  checkLimits(last!.hosts);
  return {
    strategy,
    order,
    perSecond: median(rates),
    perCpuSecond: median(cpuRates),
    hostsUsed: last!.hosts.filter((h) => h.guests.length > 0).length,
    memoryFootprint: footprint(last!.hosts),
    unschedulable: last!.placements.filter((p) => !p.result.ok).length,
    topMessage: mostCommon(last!.placements.flatMap((p) => (p.result.ok ? [] : [p.result.message.replace(/^0\/\d+ hosts available: /, '')]))),
  };
}

const rows: Row[] = [
  measure('spread', 'arrival', arrivals, { strategy: 'spread', maxGuestsPerHost: MAX_GUESTS }),
  measure('bin-pack', 'arrival', arrivals, { strategy: 'binPack', maxGuestsPerHost: MAX_GUESTS }),
  measure('bin-pack', 'decreasing', sorted, { strategy: 'binPack', maxGuestsPerHost: MAX_GUESTS }),
  measure('consolidate', 'arrival', arrivals, { strategy: 'consolidate', maxGuestsPerHost: MAX_GUESTS }),
  measure('consolidate', 'decreasing', sorted, { strategy: 'consolidate', maxGuestsPerHost: MAX_GUESTS }),
];
const ffdRates: number[] = [];
const ffdCpuRates: number[] = [];
let ffd = firstFitDecreasing(arrivals, hosts, { maxGuestsPerHost: MAX_GUESTS });
for (let i = 0; i < reps; i++) {
  const { value, seconds, cpuSeconds } = timed(() => firstFitDecreasing(arrivals, hosts, { maxGuestsPerHost: MAX_GUESTS }));
  ffdRates.push(arrivals.length / seconds);
  ffdCpuRates.push(arrivals.length / cpuSeconds);
  ffd = value;
}
rows.push({ strategy: 'FFD baseline', order: 'decreasing', perSecond: median(ffdRates), perCpuSecond: median(ffdCpuRates), hostsUsed: ffd.hostsUsed, memoryFootprint: ffd.usedMemory / ffd.placedMemory, unschedulable: ffd.unschedulable });
const lb = lowerBound(arrivals, hosts, MAX_GUESTS);
const bound = lb.bound;

const usableHosts = hosts.filter((h) => h.ready && h.schedulable && !h.maintenance).length;
console.log(`scheduler bench: ${nHosts} hosts (${usableHosts} usable) × ${nDesktops} desktops, seed ${seed}, median of ${reps} runs after 1 warm-up`);
console.log(`node ${process.version}, up to ${(nHosts * nDesktops).toLocaleString('en-US')} host×desktop filter evaluations per run (FFD stops at the first fit)`);
console.log(`lower bound ${bound} = max(cpu ${lb.cpu}, memory ${lb.memory}, disk ${lb.disk}, guests ${lb.guests}); max ${MAX_GUESTS} guests per host`);
console.log('');
const header = ['strategy', 'order', 'placements/s', 'placements/CPU-s', 'hosts used', 'FFD hosts', 'lower bound', 'ratio to lower bound', 'ratio to FFD', 'memory of used hosts ÷ placed', 'unschedulable'];
const fmt = (r: Row) => [
  r.strategy,
  r.order,
  Math.round(r.perSecond).toLocaleString('en-US'),
  Math.round(r.perCpuSecond).toLocaleString('en-US'),
  String(r.hostsUsed),
  String(ffd.hostsUsed),
  String(bound),
  (r.hostsUsed / bound).toFixed(2),
  (r.hostsUsed / ffd.hostsUsed).toFixed(2),
  r.memoryFootprint.toFixed(3),
  String(r.unschedulable),
];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map((_, i) => (i >= 2 ? '---:' : '---')).join('|')}|`);
for (const r of rows) console.log(`| ${fmt(r).join(' | ')} |`);
for (const r of rows) if (r.topMessage) console.log(`\n${r.strategy} (${r.order}), most common unschedulable message: ${r.topMessage}`);
