/** The bench's child processes (child.ts) seen from run.ts: fork, commands, fd limits. */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Command, Role, Usage } from './child';

/** How the children run: `bundle` = plain node on an esbuild bundle of child.ts (default), `tsx` = from source under tsx. */
export type ChildRuntime = 'bundle' | 'tsx';

let runtime: ChildRuntime = 'tsx';
let bundlePath = '';

// Workspace packages are bundled from their TypeScript sources (the `source` condition);
// npm dependencies stay external and load from node_modules as in production.
const npmExternal: Plugin = {
  name: 'npm-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@deskplane/') ? undefined : { path: a.path, external: true }));
  },
};

/**
 * Chooses how children run. Under tsx a process keeps its transformed sources and their
 * source maps on the heap (the gateway's heap after gc: ~65 MiB under tsx, ~35 MiB
 * compiled) and every full GC walks them, so `bundle` is what a deployed gateway costs:
 * the current sources (no stale dist), compiled by esbuild, run by plain node.
 */
export async function useRuntime(r: ChildRuntime): Promise<void> {
  runtime = r;
  if (r === 'tsx') return;
  bundlePath = join(__dirname, '..', 'dist', 'gateway-bench', 'child.js');
  await build({
    entryPoints: [join(__dirname, 'child.ts')],
    outfile: bundlePath,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    conditions: ['source'],
    plugins: [npmExternal],
    logLevel: 'warning',
  });
}

export class Child {
  private static readonly live = new Set<Child>();
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(
    readonly role: Role,
    private readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`${role}: ${m.error}`));
      else w?.resolve(m.result);
    });
    Child.live.add(this);
    // A send to a child that has died reports here; its callers are rejected on 'exit'.
    proc.on('error', () => undefined);
    proc.on('exit', (code, signal) => {
      Child.live.delete(this);
      for (const w of this.waiting.values()) w.reject(new Error(`${role} exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  /** The open-files limit in force in the child after raiseFdLimit. */
  nofile = 0;

  /** Forks child.ts as useRuntime() chose (tsx: with the parent's loader flags), with --expose-gc. */
  static spawn(role: Role, nofile: number): Child {
    const [script, execArgv] =
      runtime === 'bundle' ? [bundlePath, ['--expose-gc']] : [join(__dirname, 'child.ts'), [...process.execArgv, '--expose-gc']];
    const proc = fork(script, [role], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const child = new Child(role, proc);
    child.nofile = raiseFdLimit(proc.pid!, nofile);
    return child;
  }

  /** Stops every child still running (the run's finally). */
  static async stopAll(): Promise<void> {
    await Promise.all([...Child.live].map((c) => c.stop()));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  call<T>(c: Command): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.proc.connected) return reject(new Error(`${this.role} is not running`));
      this.waiting.set(id, { resolve, reject });
      this.proc.send({ id, ...c });
    });
  }

  usage(gc = false): Promise<Usage> {
    return this.call<Usage>({ cmd: 'usage', gc });
  }

  /** Open file descriptors, from /proc: sockets the process holds, whatever its code tracks. */
  fds(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    await this.call({ cmd: 'stop' }).catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The soft open-files limit of a process, from /proc. */
export function fdLimit(pid: number | 'self'): number {
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  return m === null || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/**
 * 5,000 sessions are 20,000 sockets in a relay (client and upstream side of two channels):
 * at or over a common hard limit. Raises the soft limit to the hard one, then tries
 * prlimit past it (needs CAP_SYS_RESOURCE). Returns the limit in force.
 */
export function raiseFdLimit(pid: number, nofile: number): number {
  const hard = hardFdLimit(pid);
  const want = Math.min(nofile, hard);
  try {
    if (fdLimit(pid) < want) execFileSync('prlimit', ['--pid', String(pid), `--nofile=${want}:${hard}`], { stdio: 'ignore' });
    if (hard < nofile) execFileSync('prlimit', ['--pid', String(pid), `--nofile=${nofile}:${nofile}`], { stdio: 'ignore' });
  } catch {
    // Not permitted here: the caller sizes the run to the limit in force.
  }
  return fdLimit(pid);
}

function hardFdLimit(pid: number): number {
  const m = /^Max open files\s+\S+\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m === null || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}
