import { API_VERSION, getCondition, type DesktopPhase, type DesktopPool } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import type { DesktopObject, PoolObject } from '../../resources';
import { countStates, decideCleanup, decidePool, stateOf, type PoolInput } from './decide';
import type { Size, Usage } from './quota';

const GiB = 1024 ** 3;
const SMALL: Size = { vcpus: 2, memory: 4 * GiB };
const NOW = new Date('2026-01-15T10:00:00Z'); // Thursday

function pool(spec: Partial<DesktopPool['spec']> = {}, status?: DesktopPool['status']): PoolObject {
  return {
    apiVersion: API_VERSION,
    kind: 'DesktopPool',
    metadata: { name: 'p', namespace: 'team-a', generation: 3 },
    spec: { templateRef: { name: 'small' }, size: 4, warm: 2, ...spec },
    ...(status ? { status } : {}),
  };
}

type Kind = 'ready' | 'running' | 'starting' | 'provisioning' | 'cold' | 'coldNew' | 'failed';
const PHASE: Record<Kind, DesktopPhase | undefined> = { ready: 'Running', running: 'Running', starting: 'Starting', provisioning: 'Provisioning', cold: 'Stopped', coldNew: 'Provisioning', failed: 'Failed' };

/** A pool desktop: `kind` says its run strategy and phase; created `age` minutes before NOW. */
function vd(name: string, kind: Kind, o: { owner?: string; recycle?: string; deleting?: boolean; age?: number } = {}): DesktopObject {
  const phase = PHASE[kind];
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualDesktop',
    metadata: {
      name,
      namespace: 'team-a',
      creationTimestamp: new Date(NOW.getTime() - (o.age ?? 10) * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      labels: { 'deskplane.io/pool': 'p' },
      ...(o.recycle ? { annotations: { 'deskplane.io/recycle': o.recycle } } : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-01-15T09:59:00Z' } : {}),
    },
    spec: { templateRef: { name: 'small' }, poolRef: { name: 'p' }, runStrategy: kind === 'cold' || kind === 'coldNew' ? 'Halted' : 'Always', ...(o.owner ? { owner: o.owner } : {}) },
    status: { ...(phase ? { phase } : {}), ...(kind === 'ready' ? { console: { ready: true } } : {}) },
  };
}

const usage = (desktops: number): Usage => ({ desktops, vcpus: desktops * SMALL.vcpus, memory: desktops * SMALL.memory });
function decide(p: PoolObject, desktops: DesktopObject[], extra: Partial<PoolInput> = {}) {
  return decidePool({ pool: p, desktops, template: SMALL, usage: usage(desktops.filter((d) => !d.metadata.deletionTimestamp).length), sizeOfTemplate: () => SMALL, now: NOW, ...extra });
}
const cond = (d: ReturnType<typeof decide>, type: string) => getCondition(d.patch.conditions?.map((c) => ({ ...c, lastTransitionTime: '', message: c.message ?? '' })), type);

describe('stateOf and counts', () => {
  it('classifies each desktop once', () => {
    const ds = [vd('a', 'ready'), vd('b', 'running'), vd('c', 'starting'), vd('d', 'cold'), vd('e', 'ready', { owner: 'alice' }), vd('f', 'ready', { owner: 'bob', recycle: 'logout' }), vd('g', 'cold', { deleting: true })];
    expect(ds.map(stateOf)).toEqual(['ready', 'starting', 'starting', 'cold', 'claimed', 'resetting', 'resetting']);
    expect(countStates(ds)).toEqual({ desktops: 5, ready: 1, claimed: 1, starting: 2, resetting: 2, cold: 1 });
  });
});

describe('decidePool', () => {
  it('fills an empty pool: warm ones first, the rest defined (Halted)', () => {
    const d = decide(pool(), []);
    expect(d.creates).toEqual(['Always', 'Always', 'Halted', 'Halted']);
    expect(d.deletes).toEqual([]);
    expect(d.flips).toEqual([]);
    expect(d.patch.set).toEqual({ desktops: 0, ready: 0, claimed: 0, starting: 0, resetting: 0, warm: 2, observedGeneration: 3 });
    expect(cond(d, 'Ready')).toMatchObject({ status: 'False', reason: 'Filling', message: '0/4 desktops; 0/2 warm desktops ready', observedGeneration: 3 });
    expect(cond(d, 'Progressing')).toMatchObject({ status: 'True', reason: 'Scaling', message: 'creating 4 (2 warm)' });
    expect(cond(d, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect(d.requeueAfterMs).toBeUndefined();
  });

  it('a full pool with its warm desktops ready is Ready and does nothing', () => {
    const d = decide(pool(), [vd('a', 'ready'), vd('b', 'ready'), vd('c', 'cold'), vd('d', 'cold')]);
    expect([d.creates, d.deletes, d.flips, d.events]).toEqual([[], [], [], []]);
    expect(cond(d, 'Ready')).toMatchObject({ status: 'True', reason: 'PoolReady', message: '2/2 warm desktops ready, 4/4 desktops (0 claimed)' });
    expect(cond(d, 'Progressing')).toMatchObject({ status: 'False', reason: 'Settled' });
  });

  it('a claim consumes a warm desktop: a defined one is started, the furthest along (Stopped) first', () => {
    const d = decide(pool(), [vd('a', 'ready', { owner: 'alice' }), vd('b', 'ready'), vd('c', 'coldNew', { age: 30 }), vd('d', 'cold', { age: 5 })]);
    expect(d.flips).toEqual([{ name: 'd', to: 'Always' }]);
    expect(d.creates).toEqual([]);
    expect(d.patch.set).toMatchObject({ desktops: 4, ready: 1, claimed: 1 });
    expect(cond(d, 'Ready')).toMatchObject({ status: 'False', reason: 'Filling', message: '1/2 warm desktops ready, 0 starting' });
  });

  it('among equally far along defined desktops the oldest is started', () => {
    expect(decide(pool({ warm: 1 }), [vd('new', 'cold', { age: 1 }), vd('old', 'cold', { age: 60 })]).flips).toEqual([{ name: 'old', to: 'Always' }]);
  });

  it('too many warm: the least invested is stopped, ready ones stay', () => {
    const d = decide(pool({ warm: 1 }), [vd('a', 'ready'), vd('b', 'starting'), vd('c', 'cold'), vd('d', 'cold')]);
    expect(d.flips).toEqual([{ name: 'b', to: 'Halted' }]);
  });

  it('all claimed but one: warm cannot be met (Exhausted)', () => {
    const d = decide(pool(), [vd('a', 'ready', { owner: 'u1' }), vd('b', 'ready', { owner: 'u2' }), vd('c', 'ready', { owner: 'u3' }), vd('d', 'ready')]);
    expect([d.creates, d.flips]).toEqual([[], []]);
    expect(cond(d, 'Ready')).toMatchObject({ status: 'False', reason: 'Exhausted', message: '3 of 4 desktops are claimed: warm 2 cannot be met; 1/2 warm desktops ready' });
  });

  it('a recycled desktop is deleted and replaced in the same pass', () => {
    const d = decide(pool(), [vd('a', 'ready'), vd('b', 'ready'), vd('c', 'cold'), vd('d', 'ready', { owner: 'alice', recycle: 'logout' })]);
    expect(d.deletes).toEqual([{ name: 'd', why: 'recycle', detail: 'logout' }]);
    expect(d.creates).toEqual(['Halted']); // both warm ones are there: the replacement is defined, not started
    expect(d.patch.set).toMatchObject({ desktops: 3, resetting: 1, claimed: 0 });
    expect(d.events).toContainEqual({ type: 'Normal', reason: 'DesktopRecycled', message: 'deleting d to reset it (logout); a fresh desktop replaces it' });
  });

  it('a recycled desktop already being deleted is not deleted again, but is replaced', () => {
    const d = decide(pool(), [vd('a', 'ready'), vd('b', 'ready'), vd('c', 'cold'), vd('d', 'ready', { owner: 'alice', recycle: 'idle', deleting: true })]);
    expect(d.deletes).toEqual([]);
    expect(d.creates).toEqual(['Halted']);
  });

  it('scale-in removes unclaimed desktops, defined ones first, and never a claimed one', () => {
    const ds = [vd('claimed', 'ready', { owner: 'alice' }), vd('warm', 'ready'), vd('cold1', 'cold'), vd('cold2', 'coldNew')];
    const d = decide(pool({ size: 2, warm: 1 }), ds);
    expect(d.deletes.map((x) => x.name)).toEqual(['cold2', 'cold1']); // still provisioning goes before Stopped
    expect(d.deletes.every((x) => x.why === 'scale-in')).toBe(true);
    expect(d.creates).toEqual([]);
    expect(d.flips).toEqual([]);
    expect(d.events).toContainEqual({ type: 'Normal', reason: 'ScaledIn', message: 'size 2: removing 2 unclaimed desktop(s): cold2, cold1' });
    expect(cond(d, 'Ready')).toMatchObject({ reason: 'ScalingIn', message: '4 desktops for size 2; 1/1 warm desktops ready' });
  });

  it('scale-in reaches warm desktops only after the defined ones, the not-yet-ready first', () => {
    const d = decide(pool({ size: 1, warm: 0 }), [vd('r', 'ready'), vd('s', 'starting'), vd('c', 'cold')]);
    expect(d.deletes.map((x) => x.name)).toEqual(['c', 's']);
  });

  it('size below the claimed count: every unclaimed one goes, claimed ones stay, and it says so', () => {
    const d = decide(pool({ size: 1, warm: 0 }), [vd('a', 'ready', { owner: 'u1' }), vd('b', 'ready', { owner: 'u2' }), vd('c', 'ready')]);
    expect(d.deletes.map((x) => x.name)).toEqual(['c']);
    expect(cond(d, 'Ready')).toMatchObject({ status: 'False', reason: 'ClaimedAboveSize', message: '2 desktops are claimed, more than size 1; the pool never removes a claimed desktop' });
  });

  it('the tenant quota stops creates part-way, names the quota and warns once', () => {
    const other = 2; // desktops of the namespace outside the pool
    const d = decide(pool(), [], { quota: { desktops: 3 }, usage: usage(other) });
    expect(d.creates).toEqual(['Always']);
    expect(d.notCreated).toBe(3);
    const message = 'quota exceeded: desktops 3/3 used, this desktop needs 1; 3 pool desktop(s) not created';
    expect(d.block).toEqual({ reason: 'QuotaExceeded', message });
    expect(cond(d, 'Degraded')).toMatchObject({ status: 'True', reason: 'QuotaExceeded', message });
    expect(d.events).toContainEqual({ type: 'Warning', reason: 'QuotaExceeded', message });
    // The same block on the next pass: the condition stands, no second Warning.
    const again = decide(pool({}, { conditions: [{ type: 'Degraded', status: 'True', reason: 'QuotaExceeded', message, lastTransitionTime: '2026-01-15T09:00:00Z' }] }), [], { quota: { desktops: 3 }, usage: usage(other) });
    expect(again.events.filter((e) => e.reason === 'QuotaExceeded')).toEqual([]);
  });

  it('vCPU and memory quotas are checked with the template size', () => {
    expect(decide(pool(), [], { quota: { vcpus: 5 }, usage: usage(0) }).block?.message).toBe('quota exceeded: vcpus 4/5 used, this desktop needs 2; 2 pool desktop(s) not created');
    expect(decide(pool(), [], { quota: { memory: '10Gi' }, usage: usage(0) }).block?.message).toBe('quota exceeded: memory 8Gi/10Gi used, this desktop needs 4Gi; 2 pool desktop(s) not created');
  });

  it('a desktop deleted in this pass gives its quota back to its replacement', () => {
    const ds = [vd('a', 'ready'), vd('b', 'ready'), vd('c', 'cold'), vd('d', 'cold', { owner: 'alice', recycle: 'idle' })];
    const d = decide(pool(), ds, { quota: { desktops: 4 } });
    expect(d.creates).toEqual(['Halted']);
    expect(d.block).toBeUndefined();
  });

  it('a missing template stops creates (Degraded), deletes still happen', () => {
    const d = decide(pool(), [vd('a', 'ready', { recycle: 'idle' })], { template: undefined });
    expect(d.deletes.map((x) => x.name)).toEqual(['a']);
    expect(d.creates).toEqual([]);
    expect(cond(d, 'Degraded')).toMatchObject({ status: 'True', reason: 'TemplateNotFound', message: 'DesktopTemplate "small" not found; 4 pool desktop(s) not created' });
    expect(d.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'TemplateNotFound' }));
  });

  it('a schedule window raises warm, says so once, and requeues at its end', () => {
    const spec = { size: 6, warm: 1, warmSchedule: [{ days: ['Thu' as const], from: '09:00', to: '12:00', warm: 3 }] };
    const ds = [vd('a', 'ready'), vd('b', 'cold'), vd('c', 'cold'), vd('d', 'cold'), vd('e', 'cold'), vd('f', 'cold')];
    const d = decide(pool(spec, { warm: 1 }), ds);
    expect(d.warm.warm).toBe(3);
    expect(d.flips.filter((f) => f.to === 'Always')).toHaveLength(2);
    expect(d.events).toContainEqual({ type: 'Normal', reason: 'WarmChanged', message: 'warm 1 → 3 (warmSchedule[0] (Thu 09:00-12:00))' });
    expect(d.requeueAfterMs).toBe(3_600_000); // 12:00 is 2 h away: capped at an hour
    expect(decide(pool(spec, { warm: 3 }), ds).events.filter((e) => e.reason === 'WarmChanged')).toEqual([]);
    // At 11:30 the end of the window is within the cap.
    expect(decide(pool(spec, { warm: 3 }), ds, { now: new Date('2026-01-15T11:30:00Z') }).requeueAfterMs).toBe(30 * 60_000 + 500);
  });

  it('a schedule entry above size is capped at size', () => {
    const d = decide(pool({ size: 2, warm: 0, warmSchedule: [{ days: ['Thu'], from: '00:00', to: '24:00', warm: 9 }] }), []);
    expect(d.creates).toEqual(['Always', 'Always']);
    expect(d.patch.set?.warm).toBe(2);
  });

  it('an unknown time zone: spec.warm, Degraded InvalidTimeZone', () => {
    const d = decide(pool({ timeZone: 'Nowhere/City', warmSchedule: [{ days: ['Thu'], from: '00:00', to: '24:00', warm: 4 }] }), [vd('a', 'ready'), vd('b', 'ready'), vd('c', 'cold'), vd('d', 'cold')]);
    expect(d.warm.warm).toBe(2);
    expect(cond(d, 'Degraded')).toMatchObject({ status: 'True', reason: 'InvalidTimeZone' });
  });
});

describe('decideCleanup', () => {
  it('deletes unclaimed and recycled desktops, keeps claimed ones, skips those already going', () => {
    const ds = [vd('free', 'ready'), vd('cold', 'cold'), vd('mine', 'ready', { owner: 'alice' }), vd('done', 'ready', { owner: 'bob', recycle: 'logout' }), vd('gone', 'cold', { deleting: true })];
    expect(decideCleanup(ds)).toEqual({ deletes: ['free', 'cold', 'done'], kept: ['mine'] });
  });
});
