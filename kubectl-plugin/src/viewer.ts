/**
 * The `.vv` file on disk and the viewer process. The file holds a live ticket: it is made
 * mode 0600 inside a fresh 0700 directory (mkdtemp), and removed as soon as nobody needs
 * it: remote-viewer deletes it itself after reading (delete-this-file=1); whatever is left
 * when the viewer fails or exits, this module removes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { CliError } from './errors';

export const VIEWER_INSTALL_HINT = 'install virt-viewer ("sudo apt install virt-viewer" or "sudo dnf install virt-viewer"), or pass --viewer CMD';
/** How long --detach watches the viewer before leaving it: long enough to see it read the file or die at start. */
export const DETACH_WATCH_MS = 5000;

export function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Writes `data` to `path` readable by its owner only, whatever mode an existing file had. */
export async function writeSecretFile(path: string, data: string): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(data, 'utf8');
  } finally {
    await fh.close();
  }
}

export interface SecretFile {
  dir: string;
  file: string;
  /** Removes the file and its directory; safe to call twice. */
  remove(): Promise<void>;
}

/** A fresh private directory (0700) under $TMPDIR holding `<name>.vv` (0600). */
export async function makeSecretFile(name: string, data: string, base = tmpdir()): Promise<SecretFile> {
  const dir = await mkdtemp(join(base, 'kubectl-desktop-'));
  await chmod(dir, 0o700);
  const file = join(dir, `${name}.vv`);
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await writeSecretFile(file, data);
  } catch (e) {
    await remove();
    throw e;
  }
  return { dir, file, remove };
}

export interface ViewerRun {
  argv: readonly string[];
  secret: SecretFile;
  env: NodeJS.ProcessEnv;
  /** Stderr lines (hints), never the file's content. */
  note: (line: string) => void;
}

const hasDisplay = (env: NodeJS.ProcessEnv): boolean => Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? osConstants.signals[signal] : undefined;
  return 128 + (n ?? 1);
}

function startFailure(viewer: string, e: NodeJS.ErrnoException): CliError {
  if (e.code === 'ENOENT') return new CliError(`${viewer} not found: ${VIEWER_INSTALL_HINT}`);
  return new CliError(`cannot start ${viewer} (${e.code ?? e.message}): check that it is an executable, or ${VIEWER_INSTALL_HINT}`);
}

/** Resolves once the process runs, rejects with a CliError when it cannot start. */
function started(child: ChildProcess, viewer: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (e: NodeJS.ErrnoException) => reject(startFailure(viewer, e)));
  });
}

/**
 * Runs the viewer in the foreground and returns its exit code once it has exited (128+N
 * for a signal). Ctrl-C reaches the viewer from the terminal directly; this process stays
 * alive until the viewer is gone so the file is removed in every case.
 */
export async function runViewer(r: ViewerRun): Promise<number> {
  const [cmd, ...args] = r.argv;
  const child = spawn(cmd!, [...args, r.secret.file], { stdio: 'inherit', env: r.env });
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(exitCodeOf(code, signal))));
  const forward = (sig: NodeJS.Signals) => () => void child.kill(sig);
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', () => undefined],
    ['SIGTERM', forward('SIGTERM')],
    ['SIGHUP', forward('SIGHUP')],
  ];
  for (const [sig, h] of handlers) process.on(sig, h);
  try {
    await started(child, cmd!);
    const code = await exited;
    if (code !== 0 && !hasDisplay(r.env)) r.note(`${cmd} exited with code ${code} and no DISPLAY is set: run it in a graphical session, or use --save FILE and open the file there`);
    return code;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    await r.secret.remove();
  }
}

/**
 * Starts the viewer in its own session (it outlives this command and the terminal's
 * Ctrl-C) and watches it briefly: once it has read and deleted the file the empty
 * directory is removed; if it dies at once, that is a failure and the file goes too.
 */
export async function detachViewer(r: ViewerRun, watchMs = DETACH_WATCH_MS): Promise<number> {
  const [cmd, ...args] = r.argv;
  const child = spawn(cmd!, [...args, r.secret.file], { stdio: 'ignore', env: r.env, detached: true });
  let exit: number | undefined;
  child.once('exit', (code, signal) => void (exit = exitCodeOf(code, signal)));
  try {
    await started(child, cmd!);
  } catch (e) {
    await r.secret.remove();
    throw e;
  }
  const deadline = Date.now() + watchMs;
  while (Date.now() < deadline) {
    if (exit !== undefined) {
      await r.secret.remove();
      if (exit === 0) return 0;
      const why = hasDisplay(r.env) ? '' : ' (no DISPLAY is set)';
      throw new CliError(`${cmd} exited at once with code ${exit}${why}: run the command without --detach to see its messages`);
    }
    if (!existsSync(r.secret.file)) {
      // The viewer has the ticket in memory; only the empty private directory is left.
      await r.secret.remove();
      break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  child.unref();
  r.note(`${cmd} started (pid ${child.pid ?? '?'})`);
  return 0;
}
