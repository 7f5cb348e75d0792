/**
 * SIMULATED DRIVER burst: N host agents (the real gRPC service, in-process on 127.0.0.1:0)
 * over the SimulatedDriver, registered as KvmHosts; the same operator and orchestrator as
 * the real path. A burst of desktops is created through the ResourceStore API (32 creates
 * in flight); we take desktops/s from the first create to the last Running, and each
 * desktop's create→Running. Run once with the real driver's measured latencies and once
 * with every latency 0 (the control plane alone) — the baseline of the ratio.
 */
import { parseConfig, SimulatedDriver, SimulatedFabric, startHostAgent, createLogger, type RunningHostAgent } from '@deskplane/host-agent';
import { onInterrupt } from './interrupt';
import { desktopObject, startBenchPlane, type Backend, type BenchPlane } from './plane';

export interface BurstResult {
  backend: Backend;
  latencies: 'measured' | 'zero';
  hosts: number;
  desktops: number;
  concurrency: number;
  /** First create sent → last create answered. */
  createMs: number;
  /** First create sent → last desktop seen Running. */
  wallMs: number;
  perDesktopMs: number[];
  /** First create sent → last desktop seen scheduled (phase Provisioning): the operator's share. */
  lastScheduledMs: number;
  /** Desktops per host at the end (spread check). */
  perHost: number[];
  /** Agent calls per desktop (all hosts), e.g. GetGuest polls. */
  callsPerDesktop: Record<string, number>;
  deleteMs: number;
}

const CREATES_IN_FLIGHT = 32;

export async function runBurst(o: {
  backend: Backend;
  latencies: 'measured' | 'zero';
  hosts: number;
  desktops: number;
  lifecycleConcurrency: number;
  log: (s: string) => void;
}): Promise<BurstResult> {
  const fabric = new SimulatedFabric();
  const drivers: SimulatedDriver[] = [];
  const agents: RunningHostAgent[] = [];
  let plane: BenchPlane | undefined;
  const teardown = async (): Promise<void> => {
    await plane?.close();
    for (const a of agents) await a.close().catch(() => undefined);
    for (const d of drivers) await d.close();
  };
  const unregister = onInterrupt(teardown);
  try {
    for (let i = 1; i <= o.hosts; i++) {
      const d = new SimulatedDriver({ name: `bench-${i}`, latencies: o.latencies, fabric });
      drivers.push(d);
      const config = parseConfig({}, {
        DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: '127.0.0.1',
        DESKPLANE_HOST_AGENT_LISTEN: '127.0.0.1:0',
        DESKPLANE_HOST_AGENT_METRICS_LISTEN: 'off',
        DESKPLANE_HOST_AGENT_HOST_NAME: `sim-bench-${i}`,
      });
      agents.push(await startHostAgent(config, d, { log: createLogger({ level: process.env.BENCH_LOG ?? 'warn' }) }));
    }
    plane = await startBenchPlane({
      tag: 'bench-burst',
      backend: o.backend,
      agents: agents.map((a) => ({ endpoint: `127.0.0.1:${a.port}` })),
      lifecycleConcurrency: o.lifecycleConcurrency,
    });
    const p = plane;
    const names = Array.from({ length: o.desktops }, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`);
    const sentAt = new Map<string, number>();

    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CREATES_IN_FLIGHT, names.length) }, async () => {
        while (next < names.length) {
          const name = names[next++]!;
          sentAt.set(name, Date.now());
          await p.desktops.create(desktopObject(name, p.ns));
        }
      }),
    );
    const createMs = Date.now() - t0;
    await p.phases.waitFor(names, 'Running', 600_000);
    const lastRunning = Math.max(...names.map((n) => p.phases.at(n, 'Running')!));
    const wallMs = lastRunning - t0;
    const lastScheduledMs = Math.max(...names.map((n) => p.phases.at(n, 'Provisioning') ?? p.phases.at(n, 'Running')!)) - t0;
    const perDesktopMs = names.map((n) => p.phases.at(n, 'Running')! - sentAt.get(n)!);
    const perHost = p.hostNames.map((h) => names.filter((n) => p.phases.seen.get(n)?.host === h).length);
    const callsPerDesktop: Record<string, number> = {};
    for (const d of drivers) for (const [k, v] of Object.entries(d.calls)) callsPerDesktop[k] = (callsPerDesktop[k] ?? 0) + v / names.length;
    o.log(
      `  burst [${o.backend}, ${o.latencies} latencies]: ${names.length} created in ${createMs} ms, all scheduled after ${lastScheduledMs} ms, all Running after ${wallMs} ms → ${((names.length * 1000) / wallMs).toFixed(1)} desktops/s; per host ${perHost.join('/')}`,
    );

    // Teardown through the product, fast: deletes cost nothing on a simulated host.
    for (const d of drivers) d.setLatencies('zero');
    const td = Date.now();
    next = 0;
    await Promise.all(
      Array.from({ length: CREATES_IN_FLIGHT }, async () => {
        while (next < names.length) await p.desktops.delete(names[next++]!, p.ns);
      }),
    );
    await p.phases.waitFor(names, 'gone', 600_000);
    const deleteMs = Date.now() - td;
    const left = (await Promise.all(drivers.map((d) => d.listGuests()))).flat().length;
    if (left > 0) throw new Error(`${left} simulated guests left after deleting every desktop`);
    return { backend: o.backend, latencies: o.latencies, hosts: o.hosts, desktops: names.length, concurrency: o.lifecycleConcurrency, createMs, wallMs, perDesktopMs, lastScheduledMs, perHost, callsPerDesktop, deleteMs };
  } finally {
    unregister();
    await teardown();
  }
}
