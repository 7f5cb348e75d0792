import { getCondition, type VirtualDesktop } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { desktop, NOW, template } from '../shared/fixtures';
import { applyStatusPatch } from '../shared/status';
import { decideHostHealth, type HostHealth } from './host-health';
import { EVICTIONS_ANNOTATION, provisionJob } from './jobs';

const down: HostHealth = { name: 'h1', ready: 'False', message: 'no heartbeat for 45s: connect ECONNREFUSED' };
const up: HostHealth = { name: 'h1', ready: 'True' };
const running = (o: { persistent?: boolean; status?: VirtualDesktop['status']; deleting?: boolean } = {}) =>
  desktop('d1', {
    spec: o.persistent === undefined ? {} : { persistent: o.persistent },
    status: { phase: 'Running', host: 'h1', console: { ready: true }, ...o.status },
    ...(o.deleting ? { meta: { deletionTimestamp: '2026-01-01T00:00:00Z' } } : {}),
  });

describe('decideHostHealth', () => {
  it('evicts a non-persistent desktop: host cleared, phase Pending, conditions and a Warning say why', () => {
    const vd = running({ persistent: false });
    const d = decideHostHealth(vd, down);
    expect(d.kind).toBe('evict');
    if (d.kind !== 'evict') return;
    const status = applyStatusPatch(vd.status, d.patch, NOW);
    expect(status.host).toBeUndefined();
    expect(status.console).toBeUndefined();
    expect(status.phase).toBe('Pending');
    expect(getCondition(status.conditions, 'Scheduled')).toMatchObject({ status: 'False', reason: 'HostNotReady' });
    expect(getCondition(status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'HostNotReady' });
    expect(d.event).toEqual({
      type: 'Warning',
      reason: 'HostNotReady',
      message:
        'host h1 is not Ready (no heartbeat for 45s: connect ECONNREFUSED): rescheduling this non-persistent desktop; the guest left on h1 is removed by drift repair once the host is back',
    });
  });

  it('marks a persistent desktop (the default) and keeps it on its host; the Event only on the transition', () => {
    const vd = running();
    const d = decideHostHealth(vd, down);
    expect(d.kind).toBe('mark');
    if (d.kind !== 'mark') return;
    const status = applyStatusPatch(vd.status, d.patch, NOW);
    expect(status).toMatchObject({ host: 'h1', phase: 'Running' });
    expect(getCondition(status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'HostNotReady' });
    expect(d.event).toMatchObject({ type: 'Warning', reason: 'HostNotReady' });
    const again = decideHostHealth({ ...vd, status }, down);
    expect(again).toMatchObject({ kind: 'mark' });
    expect(again.kind === 'mark' && again.event).toBeFalsy();
  });

  it('lifts its own mark when the host is Ready again (Ready follows the phase)', () => {
    const marked = running();
    const mark = decideHostHealth(marked, down);
    if (mark.kind !== 'mark') throw new Error(mark.kind);
    marked.status = applyStatusPatch(marked.status, mark.patch, NOW);
    const d = decideHostHealth(marked, up);
    expect(d.kind).toBe('recovered');
    if (d.kind !== 'recovered') return;
    expect(getCondition(applyStatusPatch(marked.status, d.patch, NOW).conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Running' });
    expect(d.event).toEqual({ type: 'Normal', reason: 'HostReady', message: 'host h1 is Ready again' });
  });

  const none: Array<[string, VirtualDesktop, HostHealth]> = [
    ['host Ready, never marked', running(), up],
    ['host Unknown (awaiting heartbeat, or not in the cache)', running({ persistent: false }), { name: 'h1', ready: 'Unknown' }],
    ['Migrating: the orchestrator owns the guest', running({ persistent: false, status: { phase: 'Migrating', host: 'h1' } }), down],
    ['Deleting: the deletion path', running({ persistent: false, status: { phase: 'Deleting', host: 'h1' } }), down],
    ['being deleted', running({ persistent: false, deleting: true }), down],
    ['another host', running({ persistent: false }), { ...down, name: 'h2' }],
    ['not placed', desktop('d1', { spec: { persistent: false }, status: { phase: 'Pending' } }), down],
  ];
  it.each(none)('nothing: %s', (_n, vd, host) => {
    expect(decideHostHealth(vd, host)).toEqual({ kind: 'none' });
  });
});

describe('provisionJob after an eviction', () => {
  it('a re-placement at the same generation gets its own job id (the first one would be dropped as a replay)', () => {
    const vd = desktop('d1');
    const first = provisionJob(vd, template('small'), 'h1', 1);
    expect(first.jobId).toBe(`provision.${vd.metadata.uid}.g1`);
    vd.metadata.annotations = { [EVICTIONS_ANNOTATION]: '2' };
    expect(provisionJob(vd, template('small'), 'h2', 1).jobId).toBe(`provision.${vd.metadata.uid}.g1.e2`);
  });
});
