/**
 * The operator's periodic tasks as a deployment runs them: the activity loop (logout
 * release, idle stop) and consolidation, both reading the gateways' session presence from
 * the operator's own Redis. main.ts and the local run build them the same way.
 */
import { Redis } from 'ioredis';
import { createActivityTask, RedisPresenceReader } from './activity';
import type { OperatorConfig } from './config';
import { consolidationTask } from './consolidation';
import type { OperatorMetrics } from './metrics';
import type { HostObject } from './resources';
import type { PeriodicTask } from './runtime/periodic';

export interface OperatorTasks {
  tasks: PeriodicTask[];
  close(): void;
}

export function operatorTasks(config: OperatorConfig, metrics: OperatorMetrics): OperatorTasks {
  // One retry per command: a pass that cannot read presence skips, the next pass tries again.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined); // reads fail the pass, which logs; no unhandled 'error'
  const presence = new RedisPresenceReader(redis, config.gatewayPrefix);
  const owns = (h: HostObject): boolean => Object.entries(config.hostSelector ?? {}).every(([k, v]) => h.metadata.labels?.[k] === v);
  return {
    tasks: [
      createActivityTask({ presence, intervalMs: config.activityIntervalMs }),
      consolidationTask({ config: config.consolidation, presence, owns, scheduler: config.scheduler, registry: metrics.registry }),
    ],
    close: () => redis.disconnect(),
  };
}
