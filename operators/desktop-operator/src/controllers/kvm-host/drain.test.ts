import type { DesktopMigration, VirtualDesktop } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { desktop, migration } from '../shared/fixtures';
import { DRAIN_LABEL, drainEvents, drainLabelValue, drainMigrationName, drainNote, planDrain, type DrainPlan } from './drain';

const on = (name: string, host: string, o: { ns?: string; phase?: NonNullable<VirtualDesktop['status']>['phase']; deleting?: boolean } = {}) =>
  desktop(name, { status: { host, phase: o.phase ?? 'Running' }, meta: { namespace: o.ns ?? 'team-a', ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) } });
const drainMig = (vd: VirtualDesktop, host: string, phase?: NonNullable<DesktopMigration['status']>['phase']): DesktopMigration => {
  const m = migration(drainMigrationName(vd, host), { desktopName: vd.metadata.name! }, phase ? { phase } : undefined);
  m.metadata.namespace = vd.metadata.namespace;
  m.metadata.labels = { [DRAIN_LABEL]: host };
  return m;
};

describe('drain names', () => {
  it('are stable per desktop and host, and differ across hosts and desktops of the same name', () => {
    const a = on('d1', 'h1');
    expect(drainMigrationName(a, 'h1')).toMatch(/^drain-d1-[0-9a-f]{8}$/);
    expect(drainMigrationName(a, 'h1')).toBe(drainMigrationName(on('d1', 'h1'), 'h1'));
    expect(drainMigrationName(a, 'h2')).not.toBe(drainMigrationName(a, 'h1'));
    const recreated = { ...a, metadata: { ...a.metadata, uid: 'another-uid' } };
    expect(drainMigrationName(recreated, 'h1')).not.toBe(drainMigrationName(a, 'h1'));
  });

  it('label values fit in 63 characters', () => {
    expect(drainLabelValue('host-1')).toBe('host-1');
    const long = `rack-12.${'x'.repeat(80)}.example.internal`;
    expect(drainLabelValue(long)).toHaveLength(63);
    expect(drainLabelValue(long)).toMatch(/^[a-z0-9].*[a-z0-9]$/);
  });
});

describe('planDrain', () => {
  it('one labelled, targetless migration per desktop on the host, across namespaces', () => {
    const desktops = [on('d1', 'h1'), on('d2', 'h1', { ns: 'team-b' }), on('d3', 'h2'), on('d4', 'h1', { phase: 'Stopped' })];
    const plan = planDrain({ host: 'h1', maintenance: true, desktops, migrations: [] });
    expect(plan.remaining).toBe(3);
    expect(plan.create.map((m) => `${m.metadata.namespace}/${m.spec.desktopName}`)).toEqual(['team-a/d1', 'team-b/d2', 'team-a/d4']);
    expect(plan.create[0]).toEqual({
      apiVersion: 'deskplane.io/v1alpha1',
      kind: 'DesktopMigration',
      metadata: { name: drainMigrationName(desktops[0]!, 'h1'), namespace: 'team-a', labels: { 'deskplane.io/drain': 'h1' } },
      spec: { desktopName: 'd1' },
    });
    expect(plan.create[0]!.metadata.ownerReferences).toBeUndefined();
  });

  const d1 = on('d1', 'h1');
  // [case, desktops, migrations, created, remaining, stuck, waiting]
  const cases: Array<[string, VirtualDesktop[], DesktopMigration[], number, number, number, number]> = [
    ['already has a drain migration under way', [d1], [drainMig(d1, 'h1', 'Migrating')], 0, 1, 0, 0],
    ['drain migration made but not yet picked up (no phase)', [d1], [drainMig(d1, 'h1')], 0, 1, 0, 0],
    ['a user migration under way', [d1], [migration('mine', { desktopName: 'd1' }, { phase: 'PreparingTarget' })], 0, 1, 0, 0],
    ['a finished user migration does not count', [d1], [migration('old', { desktopName: 'd1' }, { phase: 'Succeeded' })], 1, 1, 0, 0],
    ['our drain migration failed: reported, not remade', [d1], [drainMig(d1, 'h1', 'Failed')], 0, 1, 1, 0],
    ['provisioning: waits', [on('d1', 'h1', { phase: 'Provisioning' })], [], 0, 1, 0, 1],
    ['deleting: leaves by its deprovision job', [on('d1', 'h1', { phase: 'Deleting', deleting: true })], [], 0, 1, 0, 0],
    ['nothing on the host', [on('d1', 'h2')], [], 0, 0, 0, 0],
  ];
  it.each(cases)('%s', (_n, desktops, migrations, created, remaining, stuck, waiting) => {
    const plan = planDrain({ host: 'h1', maintenance: true, desktops, migrations });
    expect([plan.create.length, plan.remaining, plan.stuck.length, plan.waiting.length]).toEqual([created, remaining, stuck, waiting]);
    expect(plan.cancel).toEqual([]);
  });

  it('maintenance off cancels the drain migrations not moving memory yet; the moving ones finish', () => {
    const migrations = [drainMig(on('a', 'h1'), 'h1', 'Pending'), drainMig(on('b', 'h1'), 'h1', 'PreparingTarget'), drainMig(on('c', 'h1'), 'h1', 'Migrating'), drainMig(on('d', 'h1'), 'h1', 'Succeeded'), drainMig(on('e', 'h2'), 'h2', 'Pending')];
    const plan = planDrain({ host: 'h1', maintenance: false, desktops: [], migrations });
    expect(plan.cancel.map((m) => m.spec.desktopName)).toEqual(['a', 'b', 'd']);
    expect(plan.create).toEqual([]);
  });

  it('in maintenance, cancels unstarted drain migrations whose desktop left the host some other way', () => {
    const gone = drainMig(on('evicted', 'h1'), 'h1', 'Pending');
    const moving = drainMig(on('moving', 'h1'), 'h1', 'Migrating');
    const done = drainMig(on('done', 'h1'), 'h1', 'Succeeded');
    const plan = planDrain({ host: 'h1', maintenance: true, desktops: [on('evicted', 'h2'), on('moving', 'h2'), on('done', 'h2')], migrations: [gone, moving, done] });
    expect(plan.cancel).toEqual([gone]);
  });

  it('notes what blocks the drain', () => {
    const plan = planDrain({ host: 'h1', maintenance: true, desktops: [d1, on('p', 'h1', { phase: 'Provisioning' })], migrations: [drainMig(d1, 'h1', 'Failed')] });
    expect(drainNote(plan)).toBe(`drain migrations ended without moving the desktop (delete to retry): team-a/${drainMigrationName(d1, 'h1')} (Failed); waiting: team-a/p: provisioning`);
    expect(drainNote(planDrain({ host: 'h1', maintenance: true, desktops: [d1], migrations: [] }))).toBeUndefined();
  });
});

describe('drainEvents', () => {
  const plan = (remaining: number, cancel = 0): DrainPlan => ({ remaining, create: [], waiting: [], stuck: [], cancel: Array.from({ length: cancel }, () => migration('x')) });
  const cases: Array<[string, string | undefined, string, DrainPlan, string[]]> = [
    ['maintenance on', 'NotInMaintenance', 'Draining', plan(3), ['DrainStarted: maintenance on: moving 3 desktops off h1']],
    ['first reconcile of a host already in maintenance', undefined, 'Draining', plan(1), ['DrainStarted: maintenance on: moving 1 desktop off h1']],
    ['still draining', 'Draining', 'Draining', plan(2), []],
    ['the last desktop left', 'Draining', 'Drained', plan(0), ['Drained: no desktop left on h1']],
    ['maintenance on an empty host', 'NotInMaintenance', 'Drained', plan(0), ['DrainStarted: maintenance on: moving 0 desktops off h1', 'Drained: no desktop left on h1']],
    ['stays drained', 'Drained', 'Drained', plan(0), []],
    ['maintenance off mid-drain', 'Draining', 'NotInMaintenance', plan(2, 1), ['DrainCancelled: maintenance off: 1 drain migration not yet moving memory cancelled']],
    ['maintenance off after the drain', 'Drained', 'NotInMaintenance', plan(0), []],
  ];
  it.each(cases)('%s', (_n, before, after, p, events) => {
    expect(drainEvents('h1', before, after, p).map((e) => `${e.reason}: ${e.message}`)).toEqual(events);
  });
});
