#!/usr/bin/env node
/**
 * The operator executable: config from the environment → logger → store, job queue and
 * agent probe → Manager. SIGTERM / SIGINT stop it (workers drained, lease released).
 * Losing leadership exits with code 1, as controller-runtime does: the supervisor
 * restarts a clean candidate whose caches cannot hold anything the old leader assumed.
 */
import { openJobQueue, openStore } from './backends';
import { configFromEnv } from './config';
import { OperatorConfigError } from './errors';
import { GrpcHostAgentProbe } from './controllers/kvm-host/probe';
import { createLogger } from './log';
import { Manager } from './manager';
import { OperatorMetrics } from './metrics';
import { operatorTasks } from './tasks';

async function main(): Promise<void> {
  const config = configFromEnv(process.env);
  const log = createLogger({ level: config.logLevel, base: { identity: config.identity } });
  const store = openStore(config.backend, config.identity);
  const jobs = openJobQueue(config.redisUrl, config.queuePrefix);
  const probe = new GrpcHostAgentProbe(config.agentTls);
  const metrics = new OperatorMetrics();
  const periodic = operatorTasks(config, metrics);
  const manager = new Manager({ store, jobs, probe, config, log, metrics, tasks: periodic.tasks, onLostLeadership: () => process.exit(1) });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    manager
      .stop()
      .then(() => Promise.all([jobs.close(), store.close()]))
      .then(() => probe.close())
      .then(() => periodic.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err: String(err) }, 'unclean stop');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await manager.start();
  log.info({ backend: config.backend.kind, metricsUrl: manager.metricsUrl }, 'operator started');
}

main().catch((err: unknown) => {
  process.stderr.write(`desktop-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  // 2 for a configuration mistake, as every other Deskplane component: retrying will not help.
  process.exit(err instanceof OperatorConfigError ? 2 : 1);
});
