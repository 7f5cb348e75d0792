import { spawn, execFile } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { CommandFailedError, WaitTimeoutError } from './errors';
import type { ProcessRef } from './state';

export type Log = (msg: string) => void;

/** Runs a command to completion; rejects with CommandFailedError carrying stderr. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 0 },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
          reject(new CommandFailedError([cmd, ...args].join(' '), code, stderr || err.message));
        } else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/**
 * Starts a long-running process detached from us (its own process group, output to a
 * log file) so it outlives the CLI that started it and can be stopped later by pid.
 */
export function spawnDaemon(
  cmd: string,
  args: readonly string[],
  opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; match?: string },
): ProcessRef {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new CommandFailedError(cmd, null, 'spawn failed');
    child.unref();
    return { pid: child.pid, match: opts.match ?? cmd, logFile: opts.logFile };
  } finally {
    closeSync(fd);
  }
}

/** True when the pid is alive AND its command line still contains ref.match (guards pid reuse). */
export function isRunning(ref: Pick<ProcessRef, 'pid' | 'match'>): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${ref.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return false;
  }
  if (cmdline === '') return false; // zombie
  try {
    const stat = readFileSync(`/proc/${ref.pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
  } catch {
    return false;
  }
  return cmdline.includes(ref.match);
}

/** SIGTERM, wait up to graceMs, then SIGKILL the process group. Resolves once it is gone. */
export async function stopProcess(ref: Pick<ProcessRef, 'pid' | 'match'>, graceMs = 10_000): Promise<void> {
  if (!isRunning(ref)) return;
  signal(ref.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(ref)) return;
    await sleep(50);
  }
  signal(-ref.pid, 'SIGKILL');
  signal(ref.pid, 'SIGKILL');
  await waitFor(`pid ${ref.pid} (${ref.match}) to exit after SIGKILL`, () => !isRunning(ref), { timeoutMs: 5_000 });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls until check() returns a truthy value (or resolves to one). Exceptions count as
 * "not yet"; the last one is reported in the timeout error so a failure says why.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(what, opts.timeoutMs, lastError);
    await sleep(opts.intervalMs ?? 100);
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
