#!/usr/bin/env node
/** Thin executable: env → config → logger → startOrchestrator → SIGTERM/SIGINT → close. */
import { hostname } from 'node:os';
import { ConfigError, configFromEnv } from './config';
import { createLogger } from './log';
import { startOrchestrator } from './orchestrator';

async function main(): Promise<void> {
  let config;
  try {
    config = configFromEnv(process.env, hostname());
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`deskplane-orchestrator: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger({ level: config.logLevel, base: { identity: config.identity } });
  const running = await startOrchestrator({ config, log });
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'stopping: jobs in flight finish first');
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: String(e) }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`deskplane-orchestrator: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
