/**
 * Provision benchmark (issue 5): how long from `kubectl apply` to Running, minus the
 * guest's own boot, on the REAL testbed; and how many desktops per second the control
 * plane provisions in a burst on the SIMULATED driver, against a zero-latency baseline
 * measured in the same run.
 *
 *   npx tsx --conditions=source bench/provision/run.ts [--desktops 20] [--burst 200] [--sim-hosts 4]
 *       [--concurrency 4] [--backends kubernetes,embedded] [--skip-real] [--skip-burst]
 *
 * Needs the testbed up with two hosts (`testbed/bin/testbed up --hosts 2`). Leaves nothing
 * behind: every desktop is deleted through the product and waited for, agents closed.
 */
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runBurst, type BurstResult } from './burst';
import type { Backend } from './plane';
import { runRealPath, type RealResult } from './real';
import { markdownTable, ms, num, p50, p95, pct, sum } from './stats';

const { values } = parseArgs({
  options: {
    desktops: { type: 'string', default: '20' },
    burst: { type: 'string', default: '200' },
    'sim-hosts': { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '4' },
    backends: { type: 'string', default: 'kubernetes,embedded' },
    'skip-real': { type: 'boolean', default: false },
    'skip-burst': { type: 'boolean', default: false },
  },
});
const nReal = Number(values.desktops);
const nBurst = Number(values.burst);
const simHosts = Number(values['sim-hosts']);
const concurrency = Number(values.concurrency);
const backends = values.backends.split(',').map((s) => s.trim()) as Backend[];
for (const b of backends) if (b !== 'kubernetes' && b !== 'embedded') throw new Error(`--backends: unknown backend ${String(b)}`);

const log = (s: string): void => console.error(s);

async function main(): Promise<void> {
  const started = Date.now();
  let real: RealResult | undefined;
  const bursts: BurstResult[] = [];
  if (!values['skip-real']) {
    log(`== real path: ${nReal} desktops, kubectl apply one at a time (each deleted before the next), 2 REAL host agents (libvirt, QEMU TCG), kube-apiserver`);
    real = await runRealPath({ desktops: nReal, log });
  }
  if (!values['skip-burst']) {
    for (const backend of backends) {
      for (const latencies of ['zero', 'measured'] as const) {
        log(`== SIMULATED DRIVER burst: ${nBurst} desktops, ${simHosts} simulated hosts, ${backend} store, ${latencies} latencies`);
        bursts.push(await runBurst({ backend, latencies, hosts: simHosts, desktops: nBurst, lifecycleConcurrency: concurrency, log }));
      }
    }
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`provision bench — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${load} at the end; ${Math.round((Date.now() - started) / 1000)} s in all`);
  console.log(`orchestrator LIFECYCLE_CONCURRENCY ${concurrency}, POLL_MS 500 (defaults); operator spread scheduler, 2 workers per controller; template 1 vCPU / 256 MiB / 1 GiB busybox\n`);

  const rows: string[][] = [];
  if (real) {
    const s = real.samples;
    const n = String(s.length);
    const part = 'real: 2 libvirt hosts, QEMU TCG, kube-apiserver';
    const total = s.map((x) => x.applyToRunningMs);
    const agentWork = s.map((x) => x.ensureMs + x.startMs + x.getGuestMs);
    const row = (what: string, v: number[], ratio = ''): string[] => [part, what, n, ms(p50(v)), ms(p95(v)), '', ratio];
    rows.push(row('**apply → Running** (kubectl apply started → watch sees Running)', total));
    rows.push(row('  kubectl apply returns', s.map((x) => x.kubectlMs)));
    rows.push(row('  apply → scheduled (phase Provisioning)', s.map((x) => x.scheduledMs)));
    rows.push(row('  agent EnsureGuest (overlay + define)', s.map((x) => x.ensureMs)));
    rows.push(row("  agent StartGuest = **the guest's boot** (virsh start → libvirt: running)", s.map((x) => x.startMs)));
    rows.push(row(`  agent GetGuest polls (${num(sum(s.map((x) => x.getGuestCalls)) / s.length, 1)} per desktop)`, s.map((x) => x.getGuestMs)));
    rows.push(
      row(
        '**control-plane overhead** = apply→Running − agent work',
        s.map((x) => x.overheadMs),
        `overhead ÷ apply→Running: p50 ${pct(p50(s.map((x) => x.overheadMs / x.applyToRunningMs)))}, Σ ${pct(sum(s.map((x) => x.overheadMs)) / sum(total))}; overhead ÷ agent work ${num(sum(s.map((x) => x.overheadMs)) / sum(agentWork), 2)}×`,
      ),
    );
    rows.push(row('apply → Running − boot (StartGuest)', s.map((x) => x.applyToRunningMs - x.startMs)));
    rows.push(row('(after Running) guest OS boot: Running → first serial line', s.map((x) => x.osBootMs), 'not inside apply→Running'));
  }
  const byKey = new Map(bursts.map((b) => [`${b.backend}/${b.latencies}`, b]));
  for (const b of bursts) {
    const rate = (b.desktops * 1000) / b.wallMs;
    const base = byKey.get(`${b.backend}/zero`)!;
    const baseRate = (base.desktops * 1000) / base.wallMs;
    const store = b.backend === 'kubernetes' ? 'kube-apiserver' : 'embedded store';
    const lat = b.latencies === 'measured' ? "real driver's medians" : 'zero latency (baseline)';
    const ratio = b.latencies === 'zero' ? '1.00 (baseline)' : `${num(rate / baseRate, 2)}× the baseline's rate; p50 ${num(p50(b.perDesktopMs) / p50(base.perDesktopMs), 1)}×`;
    rows.push([
      `**SIMULATED DRIVER** burst, ${b.hosts} sim hosts, ${store}`,
      `${lat}: create → Running (${b.desktops} created in ${ms(b.createMs)}; last scheduled at ${ms(b.lastScheduledMs)}, last Running at ${ms(b.wallMs)})`,
      String(b.desktops),
      ms(p50(b.perDesktopMs)),
      ms(p95(b.perDesktopMs)),
      num(rate, 1),
      ratio,
    ]);
  }
  console.log(markdownTable(['part', 'measure', 'n', 'p50', 'p95', 'desktops/s', 'ratio'], rows));
  if (real) {
    console.log(
      `\nreal path cleanup: each desktop deleted (kubectl delete → gone, deprovision done: p50 ${ms(p50(real.cleanup.deleteMs))}, p95 ${ms(p95(real.cleanup.deleteMs))}) before the next apply; dp- domains of this run left on the hosts: ${real.cleanup.domainsLeft}; disks/serial logs left: ${real.cleanup.filesLeft}`,
    );
    const perHost = real.hosts.map((h) => `${h} ${real.samples.filter((x) => x.host === h).length}`).join(', ');
    console.log(`real path placement: ${perHost}`);
  }
  for (const b of bursts) {
    const calls = Object.entries(b.callsPerDesktop)
      .map(([k, v]) => `${k} ${num(v, 2)}`)
      .join(', ');
    console.log(`burst ${b.backend}/${b.latencies}: per host ${b.perHost.join('/')}; simulated driver calls per desktop: ${calls}; delete all → gone ${ms(b.deleteMs)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
