#!/usr/bin/env node
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';
import { startHostAgent } from './server';

/** Entry point: config → logger → server → wait for SIGTERM/SIGINT → graceful close. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`deskplane-host-agent: bad configuration: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger({ level: config.logLevel });
  const agent = await startHostAgent(config, undefined, { log });
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    agent.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`deskplane-host-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
