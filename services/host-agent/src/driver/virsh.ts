import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapVirshError } from './virsh-errors';
import { NotFoundError } from '../errors';

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/** Stands in an argument list for the file holding VirshCallOptions.input. */
export const INPUT_FILE = '\u0000input-file';

export interface VirshCallOptions {
  timeoutMs?: number;
  /**
   * XML for `define`/`update-device`: written to a private temp file (mode 0600: it may hold
   * a password) whose path replaces INPUT_FILE in the arguments; removed afterwards. virsh
   * cannot read /dev/stdin when stdin is a socket, as it is under Node.
   */
  input?: string;
  /** What the call is about, for error messages ("guest dp-…"). */
  subject?: string;
}

/** Latency samples per virsh subcommand (ms), newest last, bounded. */
export type CallTimings = Record<string, number[]>;

const MAX_SAMPLES = 200;

/**
 * Every libvirt call of the driver goes through here: `virsh -q -c URI …` as a child
 * process with a deadline, stderr mapped to the host agent's errors (virsh-errors.ts), and
 * the latency of each subcommand recorded.
 */
export class Virsh {
  readonly timings: CallTimings = {};

  constructor(
    readonly uri: string,
    private readonly defaultTimeoutMs = DEFAULT_CALL_TIMEOUT_MS,
  ) {}

  /** Runs one subcommand to completion; resolves with stdout (untrimmed). */
  async run(args: readonly string[], opts: VirshCallOptions = {}): Promise<string> {
    if (opts.input === undefined) return this.exec(args, opts);
    const dir = await fs.mkdtemp(join(tmpdir(), 'deskplane-virsh-'));
    const file = join(dir, 'input.xml');
    try {
      await fs.writeFile(file, opts.input, { mode: 0o600 });
      return await this.exec(args.map((a) => (a === INPUT_FILE ? file : a)), opts);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  private exec(args: readonly string[], opts: VirshCallOptions): Promise<string> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      execFile(
        'virsh',
        ['-q', '-c', this.uri, ...args],
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
        (err, stdout, stderr) => {
          this.record(args[0] ?? '', performance.now() - t0);
          if (!err) return resolve(stdout);
          const killed = (err as { killed?: boolean }).killed === true;
          reject(mapVirshError({ uri: this.uri, args, stderr: stderr || err.message, timedOut: killed, timeoutMs, subject: opts.subject }));
        },
      );
    });
  }

  /** Like run, but resolves undefined when libvirt says the domain does not exist. */
  async runOrMissing(args: readonly string[], opts: VirshCallOptions = {}): Promise<string | undefined> {
    try {
      return await this.run(args, opts);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /** Starts a long-running virsh (events, migrate) with piped output; the caller owns it. */
  spawn(args: readonly string[]): ChildProcess {
    return spawn('virsh', ['-q', '-c', this.uri, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  }

  record(op: string, ms: number): void {
    const samples = (this.timings[op] ??= []);
    samples.push(Math.round(ms * 10) / 10);
    if (samples.length > MAX_SAMPLES) samples.shift();
  }
}

/** Median of each operation's samples, for reports. */
export function medianTimings(timings: CallTimings): Record<string, { median: number; n: number }> {
  const out: Record<string, { median: number; n: number }> = {};
  for (const [op, samples] of Object.entries(timings)) {
    const s = [...samples].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    out[op] = { median, n: s.length };
  }
  return out;
}
