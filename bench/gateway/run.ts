/**
 * Gateway benchmark: bulk throughput and request/echo latency through the gateway against
 * a plain Node pipe relay and against no relay at all, in the same run (ratios); memory
 * per idle session (main + display) with 5,000 sessions in the gateway's own process.
 * The SPICE server is a stand-in (fake-spice-server.ts); every party is its own process.
 *
 *   npx tsx --conditions=source bench/gateway/run.ts [--seconds 3] [--reps 5] [--samples 5000]
 *     [--sessions 5000] [--concurrency 64] [--children bundle|tsx] [--skip-throughput] [--skip-latency] [--skip-memory]
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { BULK_FRAME_TYPE, type DisplayMode } from './fake-spice-server';
import { echoRoundTrips, openSession, openSessions, receiveBulk, sleep, type Session } from './client';
import { Child, fdLimit, raiseFdLimit, useRuntime } from './procs';
import type { Usage } from './child';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    reps: { type: 'string', default: '5' },
    samples: { type: 'string', default: '5000' },
    sessions: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    children: { type: 'string', default: 'bundle' },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-latency': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const reps = Math.max(1, Number(values.reps));
const samples = Number(values.samples);
const nSessions = Number(values.sessions);
const concurrency = Number(values.concurrency);
const PASSWORD = 'stand-in-password';
const NOFILE = Math.max(65_536, nSessions * 4 + 1_024);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** fds a relay may open beyond its sockets and Node's own (listeners, a pipe or two). */
const FD_HEADROOM = 8;

type Path = 'direct' | 'pipe' | 'gateway';
const PATHS: Path[] = ['direct', 'pipe', 'gateway'];
const LABEL: Record<Path, string> = {
  direct: 'direct (no relay)',
  pipe: 'Node pipe relay (baseline)',
  gateway: 'gateway',
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const cpuSec = (a: Usage, b: Usage): number => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e6;

/** The three processes on the data path besides this one (the client). */
interface Rig {
  server: Child;
  ports: Record<DisplayMode, number>;
  pipe: Child;
  pipePorts: Record<DisplayMode, number>;
  gateway: Child;
  gatewayPort: number;
}

async function startRelays(server: Child, ports: Record<DisplayMode, number>, modes: DisplayMode[]): Promise<Omit<Rig, 'server' | 'ports'>> {
  const pipe = Child.spawn('pipe', NOFILE);
  const list = await pipe.call<number[]>({ cmd: 'start', targets: modes.map((m) => ports[m]) });
  const pipePorts = Object.fromEntries(modes.map((m, i) => [m, list[i]!])) as Record<DisplayMode, number>;
  const gateway = Child.spawn('gateway', NOFILE);
  const gatewayPort = await gateway.call<number>({ cmd: 'start' });
  return { pipe, pipePorts, gateway, gatewayPort };
}

/** A session to the stand-in's `mode` port over `path`; through the gateway with a fresh ticket. */
async function sessionOver(rig: Rig, path: Path, mode: DisplayMode): Promise<Session> {
  if (path === 'direct') return openSession(rig.ports[mode], PASSWORD);
  if (path === 'pipe') return openSession(rig.pipePorts[mode], PASSWORD);
  const [ticket] = await rig.gateway.call<string[]>({ cmd: 'mint', count: 1, upstream: { host: '127.0.0.1', port: rig.ports[mode], password: PASSWORD } });
  return openSession(rig.gatewayPort, ticket!);
}

const relayOf = (rig: Rig, path: Path): Child | undefined => (path === 'pipe' ? rig.pipe : path === 'gateway' ? rig.gateway : undefined);

async function throughput(rig: Rig): Promise<void> {
  interface Run {
    gibs: number;
    cpuPerGiB: number;
    gcMsPerGiB: number;
    majorPerGiB: number;
    serverCpuPerGiB: number;
  }
  const runs: Record<Path, Run[]> = { direct: [], pipe: [], gateway: [] };
  // Interleaved (direct, pipe, gateway) × reps, so a change in machine load hits all three.
  for (let rep = 0; rep <= reps; rep++) {
    for (const path of PATHS) {
      const s = await sessionOver(rig, path, 'bulk');
      const relay = relayOf(rig, path);
      let r0: Usage | undefined, r1: Usage | undefined, s0: Usage | undefined, s1: Usage | undefined;
      const res = await receiveBulk(s, BULK_FRAME_TYPE, 500, seconds, {
        start: async () => {
          [r0, s0] = await Promise.all([relay?.usage(), rig.server.usage()]);
        },
        end: async () => {
          [r1, s1] = await Promise.all([relay?.usage(), rig.server.usage()]);
        },
      });
      s.close();
      const gib = res.bytes / GiB;
      // rep 0 is the warm-up (JIT, TCP buffers); not counted.
      if (rep > 0)
        runs[path].push({
          gibs: gib / res.seconds,
          cpuPerGiB: r0 && r1 ? cpuSec(r0, r1) / gib : NaN,
          gcMsPerGiB: r0 && r1 ? (r1.gc.ms - r0.gc.ms) / gib : NaN,
          majorPerGiB: r0 && r1 ? (r1.gc.major - r0.gc.major) / gib : NaN,
          serverCpuPerGiB: cpuSec(s0!, s1!) / gib,
        });
      await sleep(300);
    }
  }
  const med = Object.fromEntries(PATHS.map((p) => [p, median(runs[p].map((r) => r.gibs))])) as Record<Path, number>;
  const col = (p: Path, k: keyof Run, digits: number) => {
    const v = median(runs[p].map((r) => r[k]));
    return Number.isNaN(v) ? '' : fmt(v, digits);
  };
  const range = (p: Path, k: keyof Run, digits: number) => {
    const v = runs[p].map((r) => r[k]);
    return Number.isNaN(v[0]) ? '' : `${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)}`;
  };
  console.log(`\n### Throughput: one display channel, stand-in → client, ${seconds} s window after 0.5 s, median of ${reps} interleaved runs after 1 warm-up\n`);
  console.log('| path | GiB/s | GiB/s min–max | relay CPU-s per GiB | min–max | relay GC ms per GiB | relay full GCs per GiB | stand-in CPU-s per GiB | ÷ direct | ÷ pipe relay |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of PATHS) {
    console.log(
      `| ${LABEL[p]} | ${fmt(med[p], 2)} | ${range(p, 'gibs', 2)} | ${col(p, 'cpuPerGiB', 3)} | ${range(p, 'cpuPerGiB', 2)} | ${col(p, 'gcMsPerGiB', 0)} | ${col(p, 'majorPerGiB', 1)} | ${col(p, 'serverCpuPerGiB', 3)} | ${fmt(med[p] / med.direct, 2)} | ${p === 'direct' ? '' : fmt(med[p] / med.pipe, 2)} |`,
    );
  }
}

async function latency(rig: Rig): Promise<void> {
  const blocks = 5;
  const per = Math.ceil(samples / blocks);
  const sessions = {} as Record<Path, Session>;
  for (const p of PATHS) sessions[p] = await sessionOver(rig, p, 'echo');
  const rtts: Record<Path, number[]> = { direct: [], pipe: [], gateway: [] };
  // Blocks interleaved across the paths for the same reason as above; 200 warm-up echoes each.
  for (let b = 0; b < blocks; b++) for (const p of PATHS) rtts[p].push(...(await echoRoundTrips(sessions[p], per, b === 0 ? 200 : 0)));
  for (const p of PATHS) sessions[p].close();
  const d = { p50: pct(rtts.direct, 50), p99: pct(rtts.direct, 99) };
  console.log(`\n### Latency: 38-byte request/echo on the display channel, ${fmt(blocks * per)} sequential round trips per path (5 interleaved blocks)\n`);
  console.log('| path | p50 µs | p90 µs | p99 µs | p99.9 µs | added p50 µs | added p99 µs |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const p of PATHS) {
    const x = rtts[p];
    const add = (v: number) => (p === 'direct' ? '' : fmt(v, 0));
    console.log(
      `| ${LABEL[p]} | ${fmt(pct(x, 50))} | ${fmt(pct(x, 90))} | ${fmt(pct(x, 99))} | ${fmt(pct(x, 99.9))} | ${add(pct(x, 50) - d.p50)} | ${add(pct(x, 99) - d.p99)} |`,
    );
  }
}

interface MemRow {
  label: string;
  rate: number;
  linkP50: number;
  linkP99: number;
  before?: Usage;
  after?: Usage;
  closed?: Usage;
  fds?: number;
}

/** Polls until the process holds at most `max` fds (closes propagate asynchronously). */
async function settleFds(c: Child, max: number): Promise<void> {
  for (let i = 0; i < 100 && c.fds() > max; i++) await sleep(100);
}

async function idleSessions(n: number, label: string, open: () => Promise<Session>, relay?: Child, prepare?: () => Promise<void>): Promise<MemRow> {
  let fds0 = 0;
  let before: Usage | undefined;
  if (relay) {
    // Warm-up: the first sessions load code and grow pools; measure from a warm process.
    const warm = await openSessions(50, 16, open);
    for (const s of warm.sessions) s.close();
    await sleep(500);
    fds0 = relay.fds();
    await settleFds(relay, fds0);
    await sleep(500);
    fds0 = relay.fds();
    before = await relay.usage(true);
  }
  await prepare?.();
  const got = await openSessions(n, concurrency, open);
  await sleep(2_000);
  const after = await relay?.usage(true);
  const fds = relay ? relay.fds() - fds0 : undefined;
  for (const s of got.sessions) s.close();
  let closed: Usage | undefined;
  if (relay) {
    await settleFds(relay, fds0);
    await sleep(1_000);
    closed = await relay.usage(true);
  }
  return { label, rate: n / (got.wallMs / 1000), linkP50: pct(got.linkMs, 50), linkP99: pct(got.linkMs, 99), before, after, closed, fds };
}

async function memory(server: Child, ports: Record<DisplayMode, number>): Promise<void> {
  // Fresh relay processes, so nothing from the throughput runs is counted.
  const pipe = Child.spawn('pipe', NOFILE);
  const [pipePort] = await pipe.call<number[]>({ cmd: 'start', targets: [ports.idle] });
  const gateway = Child.spawn('gateway', NOFILE);
  const gwPort = await gateway.call<number>({ cmd: 'start' });
  // A relay holds 4 sockets per session; without CAP_SYS_RESOURCE the hard limit stands.
  const room = Math.min(...[pipe, gateway].map((c) => Math.floor((c.nofile - c.fds() - FD_HEADROOM) / 4)));
  const n = Math.min(nSessions, room);
  if (n < nSessions) console.log(`\nNOTE: ${fmt(nSessions)} sessions need ${fmt(4 * nSessions)} sockets in a relay; its fd limit is ${fmt(gateway.nofile)} and cannot be raised here, so ${fmt(n)} sessions are opened.`);
  const rows: MemRow[] = [];
  rows.push(await idleSessions(n, 'direct (no relay)', () => openSession(ports.idle, PASSWORD)));
  await settleFds(server, 200);
  rows.push(await idleSessions(n, 'Node pipe relay (baseline)', () => openSession(pipePort!, PASSWORD), pipe));
  await pipe.stop();
  await settleFds(server, 200);
  let tickets: string[] = [];
  let next = 0;
  const upstream = { host: '127.0.0.1', port: ports.idle, password: PASSWORD };
  const mintAll = async (count: number) => {
    tickets = await gateway.call<string[]>({ cmd: 'mint', count, upstream });
    next = 0;
  };
  await mintAll(50);
  // The tickets are minted after the "before" snapshot: a live session holds its ticket record.
  rows.push(await idleSessions(n, 'gateway', () => openSession(gwPort, tickets[next++]!), gateway, () => mintAll(n)));
  await gateway.stop();

  console.log(`\n### Idle sessions: ${fmt(n)} sessions (main + display each, DISPLAY_INIT sent, then silence), ${concurrency} links in flight\n`);
  console.log('| path | sessions/s | session link p50 ms | p99 ms | relay fds held | RSS before MiB | RSS with sessions MiB | RSS per session KiB | heapUsed per session KiB | arrayBuffers per session KiB | RSS after closing all MiB | heapUsed after closing − before KiB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const per = (k: 'rss' | 'heapUsed' | 'arrayBuffers') => (r.before && r.after ? fmt((r.after.mem[k] - r.before.mem[k]) / n / 1024, 2) : '');
    const mb = (u?: Usage) => (u ? fmt(u.mem.rss / MiB, 1) : '');
    console.log(
      `| ${r.label} | ${fmt(r.rate)} | ${fmt(r.linkP50, 1)} | ${fmt(r.linkP99, 1)} | ${r.fds === undefined ? '' : fmt(r.fds)} | ${mb(r.before)} | ${mb(r.after)} | ${per('rss')} | ${per('heapUsed')} | ${per('arrayBuffers')} | ${mb(r.closed)} | ${r.closed && r.before ? fmt((r.closed.mem.heapUsed - r.before.mem.heapUsed) / 1024, 0) : ''} |`,
    );
  }
  const g = rows[2]!;
  const p = rows[1]!;
  if (g.after && g.before && p.after && p.before) {
    const ratio = (g.after.mem.rss - g.before.mem.rss) / (p.after.mem.rss - p.before.mem.rss);
    console.log(`\nRSS per session, gateway ÷ pipe relay: ${fmt(ratio, 2)}; link rate, gateway ÷ direct: ${fmt(g.rate / rows[0]!.rate, 2)}`);
  }
}

async function main(): Promise<void> {
  raiseFdLimit(process.pid, NOFILE); // this process holds the client end of every session
  const childRuntime = values.children;
  if (childRuntime !== 'bundle' && childRuntime !== 'tsx') throw new Error(`--children bundle|tsx, got ${childRuntime}`);
  await useRuntime(childRuntime);
  console.log(`gateway bench: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, fd limit ${fmtLimit(fdLimit('self'))}`);
  console.log('every party is its own process: client (this one, tsx), SPICE stand-in, pipe relay, gateway (startGateway + MemoryTicketStore)');
  console.log(childRuntime === 'bundle' ? 'children: plain node on an esbuild bundle of the current sources' : 'children: tsx from source (heavier heap)');
  const server = Child.spawn('server', NOFILE);
  try {
    const ports = await server.call<Record<DisplayMode, number>>({ cmd: 'start', password: PASSWORD });
    if (!values['skip-throughput'] || !values['skip-latency']) {
      const relays = await startRelays(server, ports, ['bulk', 'echo']);
      const rig: Rig = { server, ports, ...relays };
      if (!values['skip-throughput']) await throughput(rig);
      if (!values['skip-latency']) await latency(rig);
      await relays.pipe.stop();
      await relays.gateway.stop();
    }
    if (!values['skip-memory']) await memory(server, ports);
  } finally {
    await Child.stopAll();
  }
}

const fmtLimit = (n: number) => (n === Infinity ? 'unlimited' : fmt(n));

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
