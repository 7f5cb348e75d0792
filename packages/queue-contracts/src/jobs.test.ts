import { describe, expect, it } from 'vitest';
import { jobIdFor, lifecycleJob, migrationJob, QUEUES } from './jobs';

const uid = '6f1c2a0e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';

describe('job contracts', () => {
  it('derives the same id for the same decision, a different one per generation or action', () => {
    expect(jobIdFor('provision', { uid, generation: 3 })).toBe(`provision.${uid}.g3`);
    expect(jobIdFor('provision', { uid, generation: 3 })).toBe(jobIdFor('provision', { uid, generation: 3 }));
    expect(jobIdFor('provision', { uid, generation: 4 })).not.toBe(jobIdFor('provision', { uid, generation: 3 }));
    expect(jobIdFor('deprovision', { uid, generation: 3 })).not.toBe(jobIdFor('provision', { uid, generation: 3 }));
  });

  it('refuses ids that could collide or break BullMQ', () => {
    expect(() => jobIdFor('start', { uid: 'a:b', generation: 1 })).toThrow(/uid/);
    expect(() => jobIdFor('start', { uid, generation: 0 })).toThrow(/generation/);
  });

  it('routes lifecycle and migration jobs to their queues', () => {
    const desktop = { namespace: 'a', name: 'vd', uid, generation: 1 };
    expect(lifecycleJob({ action: 'deprovision', desktop })).toMatchObject({ queue: QUEUES.lifecycle, name: 'deprovision' });
    const m = migrationJob({ action: 'migrate', migration: { ...desktop, name: 'm' }, desktop, sourceHost: 'h1', targetHost: 'h2', policy: {} });
    expect(m).toMatchObject({ queue: QUEUES.migration, jobId: `migrate.${uid}.g1` });
  });
});
