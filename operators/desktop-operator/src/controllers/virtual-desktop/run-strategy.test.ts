import type { DesktopPhase, RunStrategy } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { desktop } from '../shared/fixtures';
import { powerJob } from './jobs';
import { decideRunStrategy } from './run-strategy';

const vd = (runStrategy: RunStrategy | undefined, phase: DesktopPhase | undefined, o: { host?: string | null; deleting?: boolean; generation?: number } = {}) =>
  desktop('d1', {
    spec: runStrategy ? { runStrategy } : {},
    status: { ...(phase ? { phase } : {}), ...(o.host === null ? {} : { host: o.host ?? 'h1' }) },
    meta: { generation: o.generation ?? 1, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  });

describe('decideRunStrategy', () => {
  // [case, runStrategy, phase, host Ready, expected kind]
  const cases: Array<[string, RunStrategy | undefined, DesktopPhase | undefined, boolean, 'start' | 'stop' | 'none']> = [
    ['Always + Stopped → start', 'Always', 'Stopped', true, 'start'],
    ['unset means Always', undefined, 'Stopped', true, 'start'],
    ['Always + Running → nothing', 'Always', 'Running', true, 'none'],
    ['Halted + Running → stop', 'Halted', 'Running', true, 'stop'],
    ['Halted + Stopped → nothing', 'Halted', 'Stopped', true, 'none'],
    ['Manual + Stopped → nothing (users start it)', 'Manual', 'Stopped', true, 'none'],
    ['Manual + Running → nothing (users stop it)', 'Manual', 'Running', true, 'none'],
    ['Always while Starting waits', 'Always', 'Starting', true, 'none'],
    ['Halted while Stopping waits', 'Halted', 'Stopping', true, 'none'],
    ['Halted while Starting waits (stops once Running)', 'Halted', 'Starting', true, 'none'],
    ['Failed is for a human', 'Always', 'Failed', true, 'none'],
    ['never while Provisioning', 'Halted', 'Provisioning', true, 'none'],
    ['never while Migrating', 'Halted', 'Migrating', true, 'none'],
    ['never while Deleting', 'Always', 'Deleting', true, 'none'],
    ['never while Pending', 'Always', 'Pending', true, 'none'],
    ['no phase yet', 'Always', undefined, true, 'none'],
    ['host not Ready: wait for it', 'Always', 'Stopped', false, 'none'],
  ];
  it.each(cases)('%s', (_n, strategy, phase, ready, kind) => {
    expect(decideRunStrategy(vd(strategy, phase), ready).kind).toBe(kind);
  });

  it('never acts on an unplaced or deleted desktop', () => {
    expect(decideRunStrategy(vd('Always', 'Stopped', { host: null }), true)).toEqual({ kind: 'none', why: 'not placed' });
    expect(decideRunStrategy(vd('Always', 'Stopped', { deleting: true }), true)).toEqual({ kind: 'none', why: 'being deleted' });
  });

  it('says what it does, and on which host', () => {
    expect(decideRunStrategy(vd('Halted', 'Running'), true)).toEqual({
      kind: 'stop',
      host: 'h1',
      event: { type: 'Normal', reason: 'StopRequested', message: 'runStrategy Halted: stopping the guest on h1' },
    });
  });
});

describe('powerJob', () => {
  it('one job id per action and generation: a spec change enqueues once, a replay never twice', () => {
    const g2 = vd('Halted', 'Running', { generation: 2 });
    const job = powerJob(g2, 'stop', 'h1');
    expect(job).toMatchObject({ queue: 'deskplane-lifecycle', name: 'stop', jobId: `stop.${g2.metadata.uid}.g2`, data: { action: 'stop', host: 'h1', desktop: { name: 'd1', namespace: 'team-a', generation: 2 } } });
    expect(powerJob(g2, 'stop', 'h1').jobId).toBe(job.jobId);
    expect(powerJob(vd('Always', 'Stopped', { generation: 3 }), 'start', 'h1').jobId).toBe(`start.${g2.metadata.uid}.g3`);
  });
});
