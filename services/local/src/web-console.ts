/**
 * The web console for the local run: the API serves web-console/dist at /ui/. A fresh clone
 * has no dist, and a checkout that changed the console's sources has a stale one, so the run
 * builds it first — only then (a build takes seconds; checking takes milliseconds).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository's web-console folder, found upwards from here (source or dist layout). */
export function webConsoleDir(from = __dirname): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'web-console', 'package.json'))) return join(dir, 'web-console');
    if (dirname(dir) === dir) return undefined;
  }
}

function newestMtime(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * Stale = a source file (src/, index.html, vite.config.ts, package.json) is newer than the
 * built index.html, which Vite writes last. Modification times, not hashes: a stat per file.
 */
export function webConsoleStale(dir: string): boolean {
  const built = statSync(join(dir, 'dist', 'index.html'), { throwIfNoEntry: false });
  if (!built) return true;
  const sources = Math.max(...['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) => newestMtime(join(dir, p))));
  return sources > built.mtimeMs;
}

/**
 * The built console's folder, building it when missing or stale; undefined (and a line in
 * the log saying why) when there is no web-console folder or the build fails: the API then
 * runs without /ui/.
 */
export async function ensureWebConsole(log: (msg: string) => void, dir = webConsoleDir()): Promise<string | undefined> {
  if (!dir) return undefined;
  const dist = join(dir, 'dist');
  if (!webConsoleStale(dir)) return dist;
  log('building the web console (web-console/dist is missing or older than its sources)…');
  const vite = join(dir, '..', 'node_modules', 'vite', 'bin', 'vite.js');
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', (err) => resolve({ code: -1, output: err.message }));
    child.on('close', (c) => resolve({ code: c, output }));
  });
  if (code !== 0 || !existsSync(join(dist, 'index.html'))) {
    log(`the web console did not build (exit ${code}); the API runs without /ui/:\n${output.trim().split('\n').slice(-15).join('\n')}`);
    return undefined;
  }
  log(`web console built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dist;
}
