import { describe, expect, it } from 'vitest';
import { desktop, kvmHost, migration, NOW, template } from '../controllers/shared/fixtures';
import type { DesktopObject, HostObject, MigrationObject, TemplateObject } from '../resources';
import { migrationFor, migrationName, plannerObjects } from './input';

const small = template('small') as TemplateObject;
const lookup = (_ns: string, name: string) => (name === 'small' ? small : undefined);
const running = (name: string, host: string, o: Parameters<typeof desktop>[1] = {}) =>
  desktop(name, { ...o, status: { phase: 'Running', host, ...o.status } }) as DesktopObject;

describe('plannerObjects', () => {
  const hosts = [kvmHost('h1'), kvmHost('h2')] as HostObject[];

  it('maps in-flight migrations (sourceHost, else the desktop host; targetHost, else spec.targetHost) and skips ended ones', () => {
    const o = plannerObjects({
      hosts,
      desktops: [running('d1', 'h1'), running('d2', 'h2')],
      migrations: [
        migration('m1', { desktopName: 'd1', targetHost: 'h2' }) as MigrationObject,
        { ...migration('m2', { desktopName: 'd2' }, { phase: 'Migrating', sourceHost: 'h2', targetHost: 'h1' }), metadata: { name: 'm2', namespace: 'team-a', labels: { 'deskplane.io/reason': 'consolidation' } } },
        migration('m3', { desktopName: 'd2' }, { phase: 'Failed' }) as MigrationObject,
      ],
      template: lookup,
    });
    expect(o.inFlight).toEqual([
      { desktop: 'team-a/d1', from: 'h1', to: 'h2', consolidation: false },
      { desktop: 'team-a/d2', from: 'h2', to: 'h1', consolidation: true },
    ]);
    // Migrating desktops cannot move again: their presence is not even read.
    expect(o.askPresence).toEqual([]);
    // m1 has only spec.targetHost: its room on h2 is taken already (d2 2 vCPUs + d1's 2).
    expect(o.hosts.find((h) => h.name === 'h2')?.allocated.vcpus).toBe(4);
    expect(o.hosts.find((h) => h.name === 'h2')?.guests.map((g) => g.desktop)).toEqual(['team-a/d2', 'team-a/d1']);
  });

  it('asks presence only for Running desktops that could move; a missing template blocks; other hosts are not ours', () => {
    const o = plannerObjects({
      hosts,
      desktops: [
        running('a', 'h1'),
        running('b', 'h1', { status: { phase: 'Stopped', host: 'h1' } }),
        running('c', 'h2', { spec: { templateRef: { name: 'gone' } } }),
        running('d', 'h9'),
        running('e', 'h2', { meta: { deletionTimestamp: NOW.toISOString() } }),
      ],
      migrations: [],
      template: lookup,
    });
    expect(o.askPresence).toEqual(['team-a/a']);
    expect(o.desktops.map((d) => d.key)).toEqual(['team-a/a', 'team-a/b', 'team-a/c', 'team-a/e']);
    expect(o.desktops.find((d) => d.key === 'team-a/c')?.blocked).toBe('DesktopTemplate "gone" not found');
    expect(o.desktops.find((d) => d.key === 'team-a/e')?.deleting).toBe(true);
    expect(o.desktops.find((d) => d.key === 'team-a/a')?.request).toMatchObject({ vcpus: 2, memoryBytes: 4 * 1024 ** 3 });
    // Hosts carry what the operator placed: h1 holds a and b.
    expect(o.hosts.find((h) => h.name === 'h1')?.allocated.vcpus).toBe(4);
  });
});

describe('migrationFor', () => {
  const move = { desktop: 'team-a/d1', from: 'h1', to: 'h2' };

  it('names a move per pass: same pass, same name; another pass or move, another name', () => {
    const a = migrationName('d1', 'u1', move, NOW);
    expect(a).toMatch(/^consolidate-d1-[0-9a-f]{8}$/);
    expect(migrationName('d1', 'u1', move, NOW)).toBe(a);
    expect(migrationName('d1', 'u1', move, new Date(NOW.getTime() + 1000))).not.toBe(a);
    expect(migrationName('d1', 'u1', { ...move, to: 'h3' }, NOW)).not.toBe(a);
  });

  it('keeps names within the limit for long desktop names', () => {
    const name = migrationName(`${'x'.repeat(39)}-${'y'.repeat(200)}`, 'u', move, NOW);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^consolidate-x{39}-[0-9a-f]{8}$/);
  });

  it('is a labelled migration with a targetHost in the desktop namespace', () => {
    const m = migrationFor(desktop('d1') as DesktopObject, move, NOW);
    expect(m.metadata).toMatchObject({ namespace: 'team-a', labels: { 'deskplane.io/reason': 'consolidation' } });
    expect(m.spec).toEqual({ desktopName: 'd1', targetHost: 'h2', policy: { bandwidthMiBps: 256, autoConverge: true, completionTimeoutSeconds: 600 } });
  });
});
