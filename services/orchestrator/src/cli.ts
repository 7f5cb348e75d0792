#!/usr/bin/env node
/** `cli.ts retry <namespace>/<desktop>`: retry that desktop's failed jobs (see retry.ts). Env as main.ts. */
import { redisOptions } from './config';
import { retryFailedJobs } from './retry';

async function cli(argv: string[]): Promise<number> {
  const [cmd, target] = argv;
  const m = /^([^/]+)\/([^/]+)$/.exec(target ?? '');
  const redisUrl = process.env.DESKPLANE_ORCHESTRATOR_REDIS_URL || process.env.REDIS_URL;
  if (cmd !== 'retry' || !m || !redisUrl) {
    process.stderr.write('usage: DESKPLANE_ORCHESTRATOR_REDIS_URL=redis://… cli.ts retry <namespace>/<desktop>\n');
    return 2;
  }
  const ids = await retryFailedJobs(redisOptions(redisUrl), process.env.DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX || 'deskplane', m[1]!, m[2]!);
  process.stdout.write(ids.length ? `retrying ${ids.join(', ')}\n` : `no failed job for ${target}\n`);
  return ids.length ? 0 : 1;
}

cli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
