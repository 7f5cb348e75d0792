import { getCondition } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { desktop, kvmHost, migration, NOW, template } from '../shared/fixtures';
import { hostCandidate } from '../shared/placement';
import { applyStatusPatch } from '../shared/status';
import { decideMigration, decideMigrationDeletion, type MigrationInput } from './decide';

const tpl = template('small');
const placed = desktop('d1', { status: { host: 'h1', phase: 'Running' } });
const hosts = [kvmHost('h1'), kvmHost('h2'), kvmHost('h3', { ready: 'False' })].map((h) => hostCandidate(h, []));
const input = (o: Partial<MigrationInput>): MigrationInput => ({ migration: migration('m1'), desktop: placed, template: tpl, hosts, scheduler: {}, now: NOW, ...o });

describe('decideMigration', () => {
  it('picks a target through the scheduler, never the source', () => {
    const d = decideMigration(input({}));
    expect(d).toMatchObject({ kind: 'targetSelected', source: 'h1', target: 'h2' });
    if (d.kind !== 'targetSelected') return;
    const status = applyStatusPatch(undefined, d.patch, NOW);
    expect(status).toMatchObject({ phase: 'PreparingTarget', sourceHost: 'h1', targetHost: 'h2', observedGeneration: 1 });
    expect(getCondition(status.conditions, 'Progressing')).toMatchObject({ status: 'True', reason: 'TargetSelected' });
  });

  it('takes the named target when it is valid', () => {
    expect(decideMigration(input({ migration: migration('m1', { targetHost: 'h2' }) }))).toMatchObject({ kind: 'targetSelected', target: 'h2' });
  });

  const invalid: Array<[string, Partial<MigrationInput>, string]> = [
    ['desktop missing', { desktop: undefined }, 'DesktopNotFound'],
    ['desktop being deleted', { desktop: desktop('d1', { status: { host: 'h1' }, meta: { deletionTimestamp: '2026-01-01T00:00:00Z' } }) }, 'DesktopDeleting'],
    ['target does not exist', { migration: migration('m1', { targetHost: 'nope' }) }, 'TargetNotFound'],
    ['target is the source', { migration: migration('m1', { targetHost: 'h1' }) }, 'TargetIsSource'],
    ['target not ready', { migration: migration('m1', { targetHost: 'h3' }) }, 'TargetNotReady'],
    ['target too small', { migration: migration('m1', { targetHost: 'h2' }), template: template('big', { memory: '64Gi' }) }, 'TargetUnschedulable'],
    ['target in maintenance', { migration: migration('m1', { targetHost: 'h2' }), hosts: [kvmHost('h1'), kvmHost('h2', { spec: { maintenance: true } })].map((h) => hostCandidate(h, [])) }, 'TargetUnschedulable'],
    ['desktop gone after the target was picked', { migration: migration('m1', {}, { phase: 'PreparingTarget', sourceHost: 'h1', targetHost: 'h2' }), desktop: undefined }, 'DesktopNotFound'],
    ['desktop gone while migrating', { migration: migration('m1', {}, { phase: 'Migrating', sourceHost: 'h1', targetHost: 'h2' }), desktop: undefined }, 'DesktopNotFound'],
    ['desktop deleted before memory moves', { migration: migration('m1', {}, { phase: 'PreparingTarget' }), desktop: desktop('d1', { status: { host: 'h1' }, meta: { deletionTimestamp: '2026-01-01T00:00:00Z' } }) }, 'DesktopDeleting'],
  ];
  it.each(invalid)('%s → Failed, reason %s', (_n, o, reason) => {
    const d = decideMigration(input(o));
    expect(d.kind).toBe('invalid');
    if (d.kind !== 'invalid') return;
    expect(d.reason).toBe(reason);
    const status = applyStatusPatch(undefined, d.patch, NOW);
    expect(status.phase).toBe('Failed');
    expect(status.endTime).toBe('2026-01-15T10:00:00Z');
    expect(getCondition(status.conditions, 'Ready')).toMatchObject({ status: 'False', reason, message: d.message });
  });

  it('a desktop not placed yet: waits in Pending (created together with its desktop)', () => {
    const d = decideMigration(input({ desktop: desktop('d1') }));
    expect(d.kind).toBe('waitForDesktop');
    if (d.kind !== 'waitForDesktop') return;
    const status = applyStatusPatch(undefined, d.patch, NOW);
    expect(status.phase).toBe('Pending');
    expect(getCondition(status.conditions, 'Progressing')).toMatchObject({ status: 'False', reason: 'DesktopNotPlaced' });
  });

  it('no host fits right now: stays Scheduling and is retried (not terminal)', () => {
    const d = decideMigration(input({ template: template('big', { memory: '64Gi' }) }));
    expect(d.kind).toBe('noTarget');
    if (d.kind !== 'noTarget') return;
    expect(d.message).toBe('0/3 hosts available: 1 excluded by request, 1 insufficient memory, 1 not ready');
    expect(applyStatusPatch(undefined, d.patch, NOW).phase).toBe('Scheduling');
  });

  it.each([
    ['Succeeded', 'terminal'],
    ['Failed', 'terminal'],
    ['PreparingTarget', 'handedOff'],
    ['Migrating', 'handedOff'],
  ] as const)('phase %s → %s', (phase, kind) => {
    expect(decideMigration(input({ migration: migration('m1', {}, { phase }) })).kind).toBe(kind);
  });
});

describe('decideMigration: hosts in maintenance', () => {
  it('the scheduler never picks a host in maintenance as the target', () => {
    const hs = [kvmHost('h1', { spec: { maintenance: true } }), kvmHost('h2', { spec: { maintenance: true } }), kvmHost('h3')].map((h) => hostCandidate(h, []));
    expect(decideMigration(input({ hosts: hs }))).toMatchObject({ kind: 'targetSelected', source: 'h1', target: 'h3' });
    const d = decideMigration(input({ hosts: hs.slice(0, 2) }));
    expect(d).toMatchObject({ kind: 'noTarget', message: '0/2 hosts available: 2 in maintenance' });
  });

  it('a desktop being deleted while memory moves: left to the orchestrator (it aborts)', () => {
    const deleting = desktop('d1', { status: { host: 'h1' }, meta: { deletionTimestamp: '2026-01-01T00:00:00Z' } });
    expect(decideMigration(input({ migration: migration('m1', {}, { phase: 'Migrating' }), desktop: deleting })).kind).toBe('handedOff');
  });
});

describe('decideMigrationDeletion', () => {
  const F = 'deskplane.io/migration-abort';
  const deleted = (phase?: 'Pending' | 'Scheduling' | 'PreparingTarget' | 'Migrating' | 'Succeeded' | 'Failed' | 'Aborted', finalizers = [F]) => {
    const m = migration('m1', {}, phase ? { phase, sourceHost: 'h1', targetHost: 'h2' } : undefined);
    m.metadata.deletionTimestamp = '2026-01-15T09:59:00Z';
    m.metadata.finalizers = finalizers;
    return m;
  };
  it.each([
    [undefined, 'removeFinalizer'],
    ['Pending', 'removeFinalizer'],
    ['Scheduling', 'removeFinalizer'],
    ['PreparingTarget', 'removeFinalizer'],
    ['Succeeded', 'removeFinalizer'],
    ['Failed', 'removeFinalizer'],
    ['Aborted', 'removeFinalizer'],
    ['Migrating', 'waitForAbort'],
  ] as const)('deleted in phase %s → %s', (phase, kind) => {
    expect(decideMigrationDeletion(deleted(phase), F).kind).toBe(kind);
  });

  it('Migrating: says the orchestrator aborts, with an Event once', () => {
    const m = deleted('Migrating');
    const d = decideMigrationDeletion(m, F);
    if (d.kind !== 'waitForAbort') throw new Error(d.kind);
    expect(d.event).toEqual({ reason: 'AbortRequested', message: 'deleted while migrating: the orchestrator aborts it; the guest stays on h1' });
    const status = applyStatusPatch(m.status, d.patch, NOW);
    expect(getCondition(status.conditions, 'Progressing')).toMatchObject({ status: 'True', reason: 'Aborting' });
    const again = decideMigrationDeletion({ ...m, status }, F);
    expect(again.kind === 'waitForAbort' && again.event).toBeUndefined();
  });

  it('nothing to do without the finalizer or without deletion', () => {
    expect(decideMigrationDeletion(deleted('Migrating', []), F).kind).toBe('nothing');
    expect(decideMigrationDeletion(migration('m1', {}, { phase: 'Migrating' }), F).kind).toBe('nothing');
  });
});
