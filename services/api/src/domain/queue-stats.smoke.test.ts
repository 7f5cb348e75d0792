import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { loadState } from '@deskplane/testbed';
import { BullJobQueue, QUEUES, lifecycleJob } from '@deskplane/queue-contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { BullQueueStats } from './queue-stats';

describe('BullQueueStats on the testbed Redis', () => {
  const { redis } = loadState();
  const connection = { host: redis!.host, port: redis!.port };
  // A private prefix per run: nothing else reads these queues, and they are removed afterwards.
  const prefix = `api-stats-${randomBytes(4).toString('hex')}`;
  const jobs = new BullJobQueue(connection, prefix);
  const stats = new BullQueueStats({ connection, prefix });

  afterAll(async () => {
    for (const name of Object.values(QUEUES)) {
      const q = new Queue(name, { connection, prefix });
      await q.obliterate({ force: true });
      await q.close();
    }
    await Promise.all([jobs.close(), stats.close()]);
  });

  it('counts jobs per state in every queue of the contract, under the installation prefix', async () => {
    const empty = await stats.counts();
    expect(empty.map((c) => c.queue).sort()).toEqual(Object.values(QUEUES).sort());
    expect(empty.every((c) => Object.values(c.counts).every((n) => n === 0) && !c.paused)).toBe(true);

    for (let g = 1; g <= 3; g++) await jobs.enqueue(lifecycleJob({ action: 'deprovision', desktop: { namespace: 'a', name: 'vd', uid: randomUUID(), generation: g } }));
    const lifecycle = new Queue(QUEUES.lifecycle, { connection, prefix });
    await lifecycle.pause();
    await lifecycle.close();

    const after = await stats.counts();
    const byName = Object.fromEntries(after.map((c) => [c.queue, c]));
    expect(byName[QUEUES.lifecycle]).toMatchObject({ paused: true, counts: { waiting: 3, active: 0, failed: 0, completed: 0 } });
    expect(byName[QUEUES.migration]?.counts.waiting).toBe(0);
  });
});
