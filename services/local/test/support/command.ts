/**
 * Helpers of the fresh-clone test: a git clone of the repository's HEAD, README command (a)
 * as a child process group (so a Ctrl-C is a SIGINT to the whole group, as a terminal sends
 * it), curl as a real process, and a scan of /proc for anything the run left behind.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ROOT = join(__dirname, '../../../..');

const git = (cwd: string, args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/**
 * Clones ROOT's HEAD into `dir` — what is committed is what a newcomer gets. With
 * `withWorkTree`, the working tree's uncommitted changes and new files are copied over the
 * clone (for checking a change before it is committed; the report says which it was).
 */
export function cloneHead(dir: string, withWorkTree: boolean): { commit: string; overlaid: string[] } {
  const commit = git(ROOT, ['rev-parse', 'HEAD']);
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', '--no-checkout', ROOT, dir]);
  git(dir, ['checkout', '--quiet', '--detach', commit]);
  const overlaid: string[] = [];
  if (withWorkTree) {
    const list = (args: string[]): string[] => git(ROOT, ['ls-files', '-z', ...args]).split('\0').filter(Boolean);
    for (const f of list(['--deleted'])) rmSync(join(dir, f), { force: true });
    for (const f of list(['--modified', '--others', '--exclude-standard'])) {
      if (!existsSync(join(ROOT, f))) continue;
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      copyFileSync(join(ROOT, f), join(dir, f));
      overlaid.push(f);
    }
  }
  return { commit, overlaid };
}

export interface Line {
  at: number;
  text: string;
}

export interface Command {
  child: ChildProcess;
  startedAt: number;
  lines: Line[];
  output(): string;
  /** Exit code (null if killed by a signal). */
  exited: Promise<number | null>;
  /** The first line matching `re` (waits for it); rejects if the command ends first. */
  waitFor(re: RegExp, timeoutMs: number): Promise<{ line: Line; match: RegExpExecArray }>;
  /** Ctrl-C: SIGINT to the command's whole process group. */
  interrupt(): void;
}

/** Runs `bash testbed/bin/local` in `cwd` as its own process group. */
export function runCommand(cwd: string, env: NodeJS.ProcessEnv): Command {
  const startedAt = Date.now();
  const child = spawn('bash', ['testbed/bin/local'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  const partial = { out: '', err: '' };
  const feed = (key: 'out' | 'err') => (b: Buffer) => {
    const parts = (partial[key] + b.toString()).split('\n');
    partial[key] = parts.pop()!;
    for (const text of parts) lines.push({ at: Date.now(), text });
  };
  child.stdout.on('data', feed('out'));
  child.stderr.on('data', feed('err'));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      for (const k of ['out', 'err'] as const) if (partial[k]) lines.push({ at: Date.now(), text: partial[k] });
      resolve(code);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  const output = (): string => lines.map((l) => l.text).join('\n');
  return {
    child,
    startedAt,
    lines,
    output,
    exited,
    async waitFor(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of lines) {
          const match = re.exec(line.text);
          if (match) return { line, match };
        }
        if (done) throw new Error(`the command ended (code ${await exited}) before printing ${re}; its output:\n${output().slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms; output so far:\n${output().slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    interrupt: () => {
      if (!done && child.pid) process.kill(-child.pid, 'SIGINT');
    },
  };
}

/** Every process whose command line names one of `markers`, or that is in process group `pgid`. */
export function leftovers(markers: string[], pgid?: number): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    let cmdline: string;
    let group: number;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      // Field 5 of stat is the process group; the command name before it may contain spaces.
      group = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[2]);
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline === '') continue; // kernel threads, zombies
    if ((pgid !== undefined && group === pgid) || markers.some((m) => cmdline.includes(m))) found.push(`${pid} ${cmdline.slice(0, 200)}`);
  }
  return found;
}

export interface CurlResult {
  status: number;
  body: string;
}

/** curl as a real process; resolves with the HTTP status (0 = no answer) and the body. */
export function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '30', '-w', '\n%{http_code}', ...args], { maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const i = stdout.lastIndexOf('\n');
      const status = Number(stdout.slice(i + 1));
      if (err && !Number.isFinite(status)) return reject(new Error(`curl ${args.join(' ')}: ${stderr || err.message}`));
      resolve({ status, body: stdout.slice(0, i) });
    });
  });
}

export const bearer = (token: string): string[] => ['-H', `authorization: Bearer ${token}`];
export const jsonBody = (value: unknown): string[] => ['-H', 'content-type: application/json', '--data-binary', JSON.stringify(value)];
