#!/usr/bin/env node
import { createInterface } from 'node:readline';
import { hashPassword } from './auth/passwords';
import { ConfigError, parseConfig } from './config';
import { createApiLogger } from './http/observability';
import { startApi } from './wiring';

/**
 * `deskplane-api` starts the API from DESKPLANE_API_* variables — the store (kubeconfig), the
 * gateway's admin API, Redis (wiring.ts) — exiting 2 naming the variable when one is wrong or
 * missing; SIGTERM / SIGINT stop it cleanly.
 * `deskplane-api hash-password` reads a password from stdin and prints its scrypt hash for
 * the users file.
 */

async function readPassword(): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  if (process.stdin.isTTY) {
    process.stderr.write('Password: ');
    // Echo off: the typed characters are not written back to the terminal.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  }
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (process.stdin.isTTY) process.stderr.write('\n');
  return line;
}

async function hashPasswordCommand(): Promise<number> {
  const password = await readPassword();
  if (!password) {
    process.stderr.write('hash-password: no password on stdin (e.g. printf %s "secret" | deskplane-api hash-password)\n');
    return 2;
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

async function serve(): Promise<number> {
  let api;
  let logger;
  try {
    const config = parseConfig();
    logger = createApiLogger(config.logLevel);
    api = await startApi({ config, logger });
  } catch (err) {
    // Settings parseConfig cannot judge alone (a gateway, a CA file) are refused by buildApi, also naming the variable.
    if (err instanceof ConfigError) {
      process.stderr.write(`deskplane-api: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ event: 'api.stopping', signal }, 'api.stopping');
      void api.close().then(resolve, (err: unknown) => {
        logger.error({ err }, 'close failed');
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

const command = process.argv[2];
const run = command === 'hash-password' ? hashPasswordCommand : command === undefined ? serve : undefined;
if (!run) {
  process.stderr.write(`deskplane-api: unknown command "${command}" (commands: hash-password; none = serve)\n`);
  process.exitCode = 2;
} else {
  run().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`deskplane-api: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
