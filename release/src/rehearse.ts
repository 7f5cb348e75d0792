/**
 * Rehearses an image build without a container engine: the Dockerfile's stages are laid
 * out in temporary folders (container path /x → <stage folder>/x), its COPY lines are
 * carried out against the repository (honouring .dockerignore), a short allow-list of RUN
 * commands is executed for real, and the final CMD is started with only the image's ENV.
 * What it cannot do is said, not hidden: every RUN it does not execute is listed in
 * `skipped` (apt-get, cache cleaning: nothing that would touch this machine runs).
 *
 * Modes: `runtime` stands the repository in for the stage named `build` (its dist/ folders
 * must be fresh: `npx tsc -b`), so only the manifests and runtime stages run; `full` also
 * runs the build stage, with the repository's node_modules standing in for the build
 * stage's `npm ci` (same lock file; the runtime stage's `npm ci --omit=dev` runs for real,
 * offline, from the npm cache).
 *
 * CLI: `npx tsx release/src/rehearse.ts [--full] [NAME...]` (names: deskplane-api, ...).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative, resolve } from 'node:path';
import { copies, execForm, isIgnored, parseDockerfile, splitFlags, type Stage } from './dockerfile';
import { readDockerignore } from './dockerfile-lint';
import { dockerfileOf, IMAGES, listWorkspaces } from './images';

export type Mode = 'runtime' | 'full';

export interface Rehearsal {
  /** Folder standing for the final stage's filesystem root. */
  rootfs: string;
  cwd: string;
  cmd: string[];
  env: Record<string, string>;
  /** RUN commands not executed, with the reason. */
  skipped: string[];
  /** RUN commands executed. */
  ran: string[];
}

interface StageState {
  stage: Stage;
  /** The folder standing for this stage's "/"; the repository root for a substituted stage. */
  rootfs: string;
  workdir: string;
  env: Record<string, string>;
  substituted: boolean;
}

export class RehearsalError extends Error {}

export async function rehearse(opts: { root: string; dockerfile: string; mode: Mode; workDir: string; log?: (line: string) => void }): Promise<Rehearsal> {
  const log = opts.log ?? (() => {});
  const df = parseDockerfile(readFileSync(resolve(opts.root, opts.dockerfile), 'utf8'));
  const ignore = readDockerignore(opts.root);
  const states: StageState[] = [];
  const skipped: string[] = [];
  const ran: string[] = [];
  const byRef = (ref: string): StageState => {
    const s = states.find((x) => x.stage.name === ref.toLowerCase()) ?? states[Number.isInteger(Number(ref)) ? Number(ref) : -1];
    if (!s) throw new RehearsalError(`${opts.dockerfile}: --from=${ref} names no earlier stage (images are not fetched here)`);
    return s;
  };
  const hostPath = (s: StageState, containerPath: string): string => {
    const abs = posix.resolve(s.workdir, containerPath);
    // A substituted stage is the repository itself: its WORKDIR is the repository root.
    return s.substituted ? join(opts.root, posix.relative(s.workdir, abs)) : join(s.rootfs, abs);
  };

  for (const stage of df.stages) {
    const parent = states.find((x) => x.stage.name === stage.base.toLowerCase());
    const substituted = opts.mode === 'runtime' && stage.name === 'build';
    const rootfs = substituted ? opts.root : join(opts.workDir, `stage-${stage.index}${stage.name ? `-${stage.name}` : ''}`);
    if (!substituted) {
      mkdirSync(rootfs, { recursive: true });
      if (parent) cpSync(parent.rootfs, rootfs, { recursive: true, verbatimSymlinks: true });
    }
    const state: StageState = { stage, rootfs, workdir: parent?.workdir ?? '/', env: { ...parent?.env }, substituted };
    states.push(state);
    log(`stage ${stage.index}${stage.name ? ` (${stage.name})` : ''}: FROM ${stage.base}${substituted ? ' — the repository stands in for it' : ''}`);

    for (const ins of stage.instructions) {
      if (ins.keyword === 'WORKDIR') {
        state.workdir = posix.resolve(state.workdir, ins.args.trim());
        if (!substituted) mkdirSync(hostPath(state, '.'), { recursive: true });
      } else if (ins.keyword === 'ENV') {
        for (const m of ins.args.matchAll(/([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) state.env[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1');
      } else if (substituted) {
        continue;
      } else if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
        const c = copies({ ...stage, instructions: [ins] })[0];
        if (!c) continue;
        const from = c.from !== undefined ? byRef(c.from) : undefined;
        const dest = hostPath(state, c.dest);
        const intoDir = c.dest.endsWith('/') || c.sources.length > 1;
        for (const src of c.sources) {
          const source = from ? hostPath(from, src) : join(opts.root, src);
          if (!existsSync(source)) throw new RehearsalError(`${opts.dockerfile}:${ins.line}: COPY source ${src} does not exist${from ? ` in stage ${from.stage.name ?? from.stage.index}` : ''}`);
          const target = statSync(source).isDirectory() ? dest : intoDir ? join(dest, basename(source)) : dest;
          const filter = from ? undefined : (p: string): boolean => p === source || !isIgnored(relative(opts.root, p).split('\\').join('/'), ignore);
          cpSync(source, target, { recursive: true, verbatimSymlinks: true, ...(filter && { filter }) });
        }
      } else if (ins.keyword === 'RUN') {
        for (const command of ins.args.split('&&').map((c) => c.trim())) {
          const skip = await runCommand(command, state, hostPath(state, '.'), opts.root);
          if (skip === undefined) ran.push(command);
          else skipped.push(`${command} (${skip})`);
          log(`  RUN ${command}: ${skip ?? 'ran'}`);
        }
      }
    }
  }

  const final = states[states.length - 1];
  const cmdIns = final?.stage.instructions.filter((i) => i.keyword === 'CMD').pop();
  const cmd = cmdIns ? execForm(cmdIns.args) : undefined;
  if (!final || !cmd) throw new RehearsalError(`${opts.dockerfile}: the final stage has no exec-form CMD`);
  // Container paths in ENV values point into the rehearsed root.
  const env = Object.fromEntries(Object.entries(final.env).map(([k, v]) => [k, v.startsWith('/') && existsSync(join(final.rootfs, v)) ? join(final.rootfs, v) : v]));
  return { rootfs: final.rootfs, cwd: hostPath(final, '.'), cmd, env, skipped, ran };
}

/** Runs the RUN commands worth executing here; for any other, the reason it was skipped. */
async function runCommand(command: string, state: StageState, cwd: string, root: string): Promise<string | undefined> {
  const words = command.split(/\s+/);
  if (words[0] === 'npm' && words[1] === 'ci') {
    if (!words.includes('--omit=dev')) {
      linkRepositoryInstall(root, cwd);
      return undefined;
    }
    await exec('npm', [...words.slice(1), '--offline'], cwd, state.env, 'npm ci --omit=dev (offline, from the npm cache)');
    return undefined;
  }
  if (words[0] === 'npx' && words[1] === 'tsc') {
    await exec(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), ...words.slice(2)], cwd, state.env, command);
    return undefined;
  }
  if (words[0] === 'npm' && words[1] === 'run' && words[2] === 'build') {
    await exec('npm', words.slice(1), cwd, state.env, command);
    return undefined;
  }
  if (words[0] === 'npm' && words[1] === 'cache') return "skipped: would clean this machine's npm cache";
  return 'skipped: not run outside a container';
}

/**
 * Stands in for the build stage's full `npm ci`: the repository's install of the same lock
 * file, linked in, with the workspace links pointing at the stage's own copies.
 */
function linkRepositoryInstall(root: string, cwd: string): void {
  const modules = join(cwd, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry === '@deskplane' || entry === '.package-lock.json') continue;
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
  }
  mkdirSync(join(modules, '@deskplane'), { recursive: true });
  for (const w of listWorkspaces(root)) {
    symlinkSync(join('..', '..', w.dir), join(modules, w.name));
    const local = join(root, w.dir, 'node_modules');
    if (existsSync(local)) {
      mkdirSync(join(cwd, w.dir), { recursive: true });
      symlinkSync(local, join(cwd, w.dir, 'node_modules'));
    }
  }
}

async function exec(file: string, args: string[], cwd: string, env: Record<string, string>, what: string): Promise<void> {
  const r = await run(file, args, { cwd, env: { ...process.env, ...env }, timeoutMs: 300_000 });
  if (r.code !== 0) throw new RehearsalError(`${what} failed (exit ${r.code ?? r.signal}) in ${cwd}:\n${`${r.stdout}\n${r.stderr}`.trim().slice(-4000)}`);
}

export interface Started {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the rehearsed CMD with the image's ENV and nothing else (PATH aside), like a
 * container with no configuration; ends it after `timeoutMs` with SIGTERM if still up.
 */
export function startCmd(r: Pick<Rehearsal, 'cmd' | 'cwd' | 'env'>, opts: { env?: Record<string, string>; stopWhen?: RegExp; timeoutMs?: number } = {}): Promise<Started> {
  const [file, ...args] = r.cmd;
  return run(file === 'node' ? process.execPath : (file as string), args, {
    cwd: r.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...r.env, ...opts.env },
    timeoutMs: opts.timeoutMs ?? 15_000,
    ...(opts.stopWhen && { stopWhen: opts.stopWhen }),
  });
}

/** Runs a process to its end; SIGTERM once `stopWhen` matches its output or after `timeoutMs`. */
export function run(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; stopWhen?: RegExp }): Promise<Started> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    // Once: a second SIGTERM would cut short the graceful stop the first one started.
    const watch = (): void => {
      if (stopped || !opts.stopWhen?.test(stdout + stderr)) return;
      stopped = true;
      child.kill('SIGTERM');
    };
    child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), watch()));
    child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), watch()));
    const timer = setTimeout(() => {
      stopped = true;
      child.kill('SIGTERM');
    }, opts.timeoutMs);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const root = resolve(__dirname, '..', '..');
  const { flags, positional } = splitFlags(argv.join(' '));
  const mode: Mode = flags.has('full') ? 'full' : 'runtime';
  const unknown = positional.filter((n) => !IMAGES.some((i) => i.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown image ${unknown.join(', ')}; known: ${IMAGES.map((i) => i.name).join(', ')}\n`);
    return 2;
  }
  const images = positional.length > 0 ? IMAGES.filter((i) => positional.includes(i.name)) : IMAGES;
  let failed = 0;
  for (const image of images) {
    const workDir = mkdtempSync(join(tmpdir(), `rehearse-${image.name}-`));
    try {
      const r = await rehearse({ root, dockerfile: dockerfileOf(image), mode, workDir, log: (l) => process.stdout.write(`${l}\n`) });
      // A long-running component that comes up is stopped as soon as it says so.
      const out = await startCmd(r, { stopWhen: /"msg":"[^"]*started"/ });
      process.stdout.write(`${image.name}: CMD ${JSON.stringify(r.cmd)} exited ${out.code ?? out.signal}\n${(out.stderr || out.stdout).trim().split('\n').slice(0, 3).join('\n')}\n\n`);
      if (/Cannot find module|ERR_MODULE_NOT_FOUND|ERR_PACKAGE_PATH_NOT_EXPORTED/.test(out.stderr)) failed++;
    } catch (err) {
      failed++;
      process.stdout.write(`${image.name}: ${(err as Error).message}\n\n`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  return failed === 0 ? 0 : 1;
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
