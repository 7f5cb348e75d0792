/**
 * One process of the gateway bench, forked by run.ts, so each party has its own event
 * loop and the gateway's CPU and memory are its own: `server` (the SPICE stand-in),
 * `pipe` (a plain Node pipe relay, the baseline) or `gateway` (startGateway with a
 * MemoryTicketStore). Commands arrive over the IPC channel as { id, cmd, ... }.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { UpstreamTarget } from '@deskplane/gateway';
import { startFakeSpiceServer } from './fake-spice-server';

export type Role = 'server' | 'pipe' | 'gateway';

export type Command =
  | { cmd: 'start'; password?: string; targets?: number[] }
  | { cmd: 'mint'; count: number; upstream: UpstreamTarget }
  | { cmd: 'usage'; gc?: boolean }
  | { cmd: 'stop' };

export interface Usage {
  /** process.cpuUsage(), µs. */
  cpu: { user: number; system: number };
  mem: NodeJS.MemoryUsage;
  /** Open sockets the process knows of (link phase included). */
  sockets: number;
  /** Garbage collection since start: pause ms and full (mark-compact) collections. */
  gc: { ms: number; major: number };
}

const HOST = '127.0.0.1';
const gcTotals = { ms: 0, major: 0 };
// Bulk bytes arrive as freshly allocated Buffers; V8 answers the external memory they add
// with collections whose cost grows with the heap, so the relays report them.
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcTotals.ms += e.duration;
    const detail = (e as { detail?: { kind?: number } }).detail;
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcTotals.major++;
  }
}).observe({ entryTypes: ['gc'] });
const role = process.argv[2] as Role;
let stop: () => Promise<void> = () => Promise.resolve();
let sockets = (): number => 0;
let mint: (count: number, upstream: UpstreamTarget) => Promise<string[]> = () => Promise.reject(new Error(`${role} mints no tickets`));

/** a.pipe(b); b.pipe(a) per connection, to each target: what a naive Node relay does. */
async function startPipeRelay(targets: number[]): Promise<number[]> {
  const open = new Set<Socket>();
  const servers: Server[] = [];
  const ports: number[] = [];
  for (const target of targets) {
    const server = createServer((a) => {
      const b = connect({ host: HOST, port: target });
      for (const s of [a, b]) {
        s.setNoDelay(true);
        open.add(s);
        s.on('close', () => open.delete(s));
        s.on('error', () => {
          a.destroy();
          b.destroy();
        });
      }
      a.pipe(b);
      b.pipe(a);
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    servers.push(server);
    ports.push((server.address() as AddressInfo).port);
  }
  sockets = () => open.size;
  stop = async () => {
    for (const s of open) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  };
  return ports;
}

async function start(c: Extract<Command, { cmd: 'start' }>): Promise<unknown> {
  if (role === 'server') {
    const server = await startFakeSpiceServer({ password: c.password ?? '' });
    sockets = () => server.connections();
    stop = () => server.close();
    return server.ports;
  }
  if (role === 'pipe') return startPipeRelay(c.targets ?? []);
  // Loaded here only: the stand-in and the pipe relay must run while the gateway is being edited.
  const { MemoryTicketStore, startGateway } = await import('@deskplane/gateway');
  const tickets = new MemoryTicketStore();
  // Sessions are opened 64 at a time on 2 shared cores: give the handshake room.
  const gw = await startGateway({ listen: { host: HOST, port: 0 }, tickets, handshakeTimeoutMs: 60_000 });
  stop = () => gw.close();
  mint = async (count, upstream) => {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push((await tickets.mint({ user: `u${i}`, tenant: 'bench', desktop: `vd-${i}`, upstream, ttlMs: 3_600_000 })).ticket);
    return out;
  };
  return gw.port;
}

function usage(gc: boolean): Usage {
  if (gc) {
    const collect = (globalThis as { gc?: () => void }).gc;
    if (collect === undefined) throw new Error('run the child with --expose-gc');
    collect();
    collect();
  }
  return { cpu: process.cpuUsage(), mem: process.memoryUsage(), sockets: sockets(), gc: { ...gcTotals } };
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'start':
      return start(c);
    case 'mint':
      return mint(c.count, c.upstream);
    case 'usage':
      return usage(c.gc ?? false);
    case 'stop':
      await stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

if (process.send === undefined) throw new Error('child.ts runs under run.ts (fork with IPC)');
process.on('message', (m: { id: number } & Command) => {
  handle(m).then(
    (result) => process.send!({ id: m.id, result }),
    (err: Error) => process.send!({ id: m.id, error: err.message }),
  );
});
// The parent going away must not leave this process behind.
process.on('disconnect', () => process.exit(0));
