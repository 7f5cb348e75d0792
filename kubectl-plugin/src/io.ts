/** What a command may touch of the outside world besides the cluster and the API. */
import type { Env } from './discovery';

export interface Io {
  /** One line on stdout. */
  out(line: string): void;
  /** One line on stderr. */
  err(line: string): void;
  env: Env;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export function processIo(): Io {
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    env: process.env,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
