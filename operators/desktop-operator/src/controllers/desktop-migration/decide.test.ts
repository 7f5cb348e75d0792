import { getCondition } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { desktop, kvmHost, migration, NOW, template } from '../shared/fixtures';
import { hostCandidate } from '../shared/placement';
import { applyStatusPatch } from '../shared/status';
import { decideMigration, type MigrationInput } from './decide';

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
