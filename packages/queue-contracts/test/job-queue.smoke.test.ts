import { randomBytes, randomUUID } from 'node:crypto';
import { loadState } from '@deskplane/testbed';
import { afterAll, describe, expect, it } from 'vitest';
import { BullJobQueue, lifecycleJob, QUEUES } from '../src/index';

describe('BullJobQueue on the testbed Redis', () => {
  const { redis } = loadState();
  // A private prefix per run: nothing else reads these queues.
  const jobs = new BullJobQueue({ host: redis!.host, port: redis!.port }, `contract-${randomBytes(4).toString('hex')}`);
  afterAll(() => jobs.close());

  it('enqueues a decision once: a replay with the same id is dropped', async () => {
    const desktop = { namespace: 'a', name: 'vd', uid: randomUUID(), generation: 2 };
    const req = lifecycleJob({ action: 'deprovision', desktop, host: 'host-1' });
    expect(await jobs.enqueue(req)).toEqual({ id: req.jobId, created: true });
    expect(await jobs.enqueue(req)).toEqual({ id: req.jobId, created: false });
    expect(await jobs.state(QUEUES.lifecycle, req.jobId)).toBe('waiting');
    const next = lifecycleJob({ action: 'deprovision', desktop: { ...desktop, generation: 3 }, host: 'host-1' });
    expect((await jobs.enqueue(next)).created).toBe(true);
    expect(await jobs.state(QUEUES.lifecycle, 'deprovision.00000000-0000-0000-0000-000000000000.g1')).toBeUndefined();
  });
});
