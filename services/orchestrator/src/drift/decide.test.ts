import { describe, expect, it } from 'vitest';
import { decideDrift, sightingKey, type DriftDesktop, type DriftInput, type DriftMigration } from './decide';
import { isRepairJobId, repairJob, repairJobId, repairsOf } from './repair-job';

const U = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const vd = (n: number, phase: string | undefined, host?: string, extra: Partial<DriftDesktop['metadata']> & { migrationRef?: string } = {}): DriftDesktop => {
  const { migrationRef, ...meta } = extra;
  return {
    metadata: { name: `vd-${n}`, namespace: 'a', uid: U(n), generation: 1, ...meta },
    status: { ...(phase ? { phase: phase as never } : {}), ...(host ? { host } : {}), ...(migrationRef ? { migrationRef: { name: migrationRef } } : {}) },
  };
};
const mig = (desktop: number, phase?: string): DriftMigration => ({
  metadata: { name: `m-${desktop}`, namespace: 'a' },
  spec: { desktopName: `vd-${desktop}` },
  status: phase ? { phase: phase as never, sourceHost: 'h1', targetHost: 'h2' } : {},
});
const NOW = 1_000_000;
const GRACE = 300_000;
const input = (o: Partial<DriftInput>): DriftInput => ({ hosts: [], desktops: [], migrations: [], sightings: new Map(), repairsInFlight: new Set(), now: NOW, orphanGraceMs: GRACE, ...o });
const kinds = (i: DriftInput) => decideDrift(i).actions.map((a) => `${a.kind} ${a.host} ${a.kind === 'repairMissing' ? a.desktop.name : a.uid.slice(-2)}`);

describe('decideDrift: orphan guests', () => {
  const table: Array<[string, Partial<DriftInput>, string[]]> = [
    ['a guest with its desktop Running on that host belongs', { hosts: [{ host: 'h1', guests: [U(1)] }], desktops: [vd(1, 'Running', 'h1')] }, []],
    ['a guest no desktop has is reported the first time it is seen', { hosts: [{ host: 'h1', guests: [U(9)] }] }, ['reportOrphan h1 09']],
    ['a guest whose desktop is Running on another host is an orphan', { hosts: [{ host: 'h1', guests: [U(1)] }, { host: 'h2', guests: [U(1)] }], desktops: [vd(1, 'Running', 'h2')] }, ['reportOrphan h1 01']],
    ['… and so is one whose desktop is Stopped or Failed elsewhere', { hosts: [{ host: 'h1', guests: [U(1), U(2)] }], desktops: [vd(1, 'Stopped', 'h2'), vd(2, 'Failed', 'h2')] }, ['reportOrphan h1 01', 'reportOrphan h1 02']],
    ['a desktop still Provisioning elsewhere: its old guest is left alone', { hosts: [{ host: 'h1', guests: [U(1)] }], desktops: [vd(1, 'Provisioning', 'h2')] }, []],
    ['an evicted desktop (Pending, no host): left alone until it runs again', { hosts: [{ host: 'h1', guests: [U(1)] }], desktops: [vd(1, 'Pending')] }, []],
    ['a desktop being deleted: the deprovision job owns its guest', { hosts: [{ host: 'h1', guests: [U(1)] }], desktops: [vd(1, 'Running', 'h2', { deletionTimestamp: '2026-01-01T00:00:00Z' })] }, []],
    ['source and target of a migration in flight are never touched', { hosts: [{ host: 'h1', guests: [U(1)] }, { host: 'h2', guests: [U(1)] }], desktops: [vd(1, 'Running', 'h1')], migrations: [mig(1, 'Migrating')] }, []],
    ['… nor while the migration is still PreparingTarget or not yet phased', { hosts: [{ host: 'h2', guests: [U(1), U(2)] }], desktops: [vd(1, 'Running', 'h1'), vd(2, 'Running', 'h1')], migrations: [mig(1, 'PreparingTarget'), mig(2)] }, []],
    ['a desktop Migrating (migrationRef) is never touched', { hosts: [{ host: 'h2', guests: [U(1)] }], desktops: [vd(1, 'Migrating', 'h1', { migrationRef: 'm-1' })] }, []],
    ['a finished migration protects nothing', { hosts: [{ host: 'h1', guests: [U(1)] }, { host: 'h2', guests: [U(1)] }], desktops: [vd(1, 'Running', 'h2')], migrations: [mig(1, 'Succeeded')] }, ['reportOrphan h1 01']],
  ];
  it.each(table)('%s', (_, i, want) => expect(kinds(input(i))).toEqual(want));

  it('keeps the first-seen time, deletes after the grace, forgets guests that are claimed or gone', () => {
    const k9 = sightingKey('h1', U(9));
    const first = decideDrift(input({ hosts: [{ host: 'h1', guests: [U(9)] }] }));
    expect(first.sightings).toEqual(new Map([[k9, NOW]]));
    const during = decideDrift(input({ hosts: [{ host: 'h1', guests: [U(9)] }], sightings: first.sightings, now: NOW + GRACE - 1 }));
    expect(during.actions).toEqual([]);
    expect(during.sightings.get(k9)).toBe(NOW);
    const after = decideDrift(input({ hosts: [{ host: 'h1', guests: [U(9)] }], sightings: first.sightings, now: NOW + GRACE }));
    expect(after.actions).toEqual([{ kind: 'deleteOrphan', host: 'h1', uid: U(9), why: 'no desktop has this uid', orphanForMs: GRACE }]);
    // Deleted: the next listing no longer has it, so neither has the map.
    expect(decideDrift(input({ hosts: [{ host: 'h1', guests: [] }], sightings: after.sightings })).sightings.size).toBe(0);
    // Claimed by a desktop in the meantime: forgotten (the grace starts again if it ever turns orphan).
    expect(decideDrift(input({ hosts: [{ host: 'h1', guests: [U(9)] }], desktops: [vd(9, 'Running', 'h1')], sightings: first.sightings, now: NOW + GRACE })).sightings.size).toBe(0);
  });

  it('a host that could not be listed keeps its sightings and gets no action', () => {
    const sightings = new Map([[sightingKey('h2', U(9)), NOW - GRACE * 2]]);
    const plan = decideDrift(input({ hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Running', 'h2')], sightings }));
    expect(plan.actions).toEqual([]);
    expect(plan.sightings).toEqual(sightings);
  });

  it('grace 0: reported and deleted in the same pass', () => {
    expect(kinds(input({ hosts: [{ host: 'h1', guests: [U(9)] }], orphanGraceMs: 0 }))).toEqual(['reportOrphan h1 09', 'deleteOrphan h1 09']);
  });
});

describe('decideDrift: missing guests', () => {
  const table: Array<[string, Partial<DriftInput>, string[]]> = [
    ['a Running desktop whose host has no guest of its uid is repaired', { hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Running', 'h1')] }, ['repairMissing h1 vd-1']],
    ['so is a Stopped one (it is defined again, not started)', { hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Stopped', 'h1')] }, ['repairMissing h1 vd-1']],
    ['the guest is there: nothing to do', { hosts: [{ host: 'h1', guests: [U(1)] }], desktops: [vd(1, 'Running', 'h1')] }, []],
    ['its host was not listed this pass: nothing is known, nothing done', { hosts: [{ host: 'h2', guests: [] }], desktops: [vd(1, 'Running', 'h1')] }, []],
    ['still Provisioning or Starting: the provision job is on it', { hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Provisioning', 'h1'), vd(2, 'Starting', 'h1')] }, []],
    ['Failed, Stopping, Deleting: not a drift', { hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Failed', 'h1'), vd(2, 'Stopping', 'h1'), vd(3, 'Deleting', 'h1')] }, []],
    ['being deleted', { hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Running', 'h1', { deletionTimestamp: '2026-01-01T00:00:00Z' })] }, []],
    ['a migration in flight (the guest may be on the target right now)', { hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Running', 'h1')], migrations: [mig(1, 'PreparingTarget')] }, []],
    ['a repair already queued is not queued again', { hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Running', 'h1')], repairsInFlight: new Set([U(1)]) }, []],
  ];
  it.each(table)('%s', (_, i, want) => expect(kinds(input(i))).toEqual(want));

  it('carries the desktop and the phase it was in', () => {
    expect(decideDrift(input({ hosts: [{ host: 'h1', guests: [] }], desktops: [vd(1, 'Stopped', 'h1')] })).actions).toEqual([
      { kind: 'repairMissing', host: 'h1', desktop: { namespace: 'a', name: 'vd-1', uid: U(1) }, phase: 'Stopped' },
    ]);
  });
});

describe('repair jobs', () => {
  const template = { metadata: { name: 'small' }, spec: { image: 'busybox', vcpus: 1, memory: '256Mi', disk: '1Gi' } };
  const desktop = { metadata: { name: 'vd', namespace: 'a', uid: U(1), generation: 3, annotations: { 'deskplane.io/repairs': '2' } }, spec: { templateRef: { name: 'small' }, owner: 'x' } };

  it('ids: the provision id of the generation plus .r<n>, never the plain one (BullMQ would drop it as a replay)', () => {
    expect(repairJobId({ uid: U(1), generation: 3 }, 4)).toBe(`provision.${U(1)}.g3.r4`);
    expect(isRepairJobId(`provision.${U(1)}.g3.r4`)).toBe(true);
    expect(isRepairJobId(`provision.${U(1)}.g3.e1.r1`)).toBe(true);
    expect(isRepairJobId(`provision.${U(1)}.g3`)).toBe(false);
    expect(isRepairJobId(`provision.${U(1)}.g3.e1`)).toBe(false);
    expect(isRepairJobId(`start.${U(1)}.g3.r1`)).toBe(false);
    expect(repairsOf(desktop)).toBe(2);
    expect(repairsOf({ metadata: { annotations: { 'deskplane.io/repairs': 'x' } } })).toBe(0);
  });

  it('the operator-shaped provision job from the template; Stopped → Halted, Running → the run strategy', () => {
    const running = repairJob(desktop, template, 'h1', 'Running', 3);
    expect(running).toEqual({
      queue: 'deskplane-lifecycle',
      name: 'provision',
      jobId: `provision.${U(1)}.g3.r3`,
      data: {
        action: 'provision',
        desktop: { namespace: 'a', name: 'vd', uid: U(1), generation: 3 },
        host: 'h1',
        template: { name: 'small', goldenImage: 'busybox', vcpus: 1, memoryBytes: String(256 * 1024 ** 2), diskBytes: String(1024 ** 3), imageCompression: 'auto_glz', streamingMode: 'filter' },
        runStrategy: 'Always',
      },
    });
    expect(repairJob(desktop, template, 'h1', 'Stopped', 3).data.runStrategy).toBe('Halted');
  });
});
