import { describe, expect, it } from 'vitest';
import { LifecycleMapper, LineSplitter, parseEventLine } from './events';

const UID = '11111111-1111-4111-8111-111111111111';
const D = `dp-${UID}`;
// Captured from `virsh event --all --loop --timestamp` on libvirt 9.0 (testbed hosts):
// boot, SPICE connect, a live migration out (source), in (destination), an aborted
// incoming migration, a destroy and a QEMU killed by pid.
const at = (t: string, rest: string): string => `2026-11-25 ${t}+0000: ${rest}`;
const CAPTURED = {
  defined: at('18:46:59.252', `event 'lifecycle' for domain '${D}': Defined Added`),
  resumedUnpaused: at('18:46:59.627', `event 'lifecycle' for domain '${D}': Resumed Unpaused`),
  started: at('18:46:59.632', `event 'lifecycle' for domain '${D}': Started Booted`),
  graphics: at('18:47:05.882', `event 'graphics' for domain '${D}': connect local[IPv4 127.0.1.1 5900] remote[IPv4 127.0.0.1 50156] `),
  iteration: at('18:47:18.613', `event 'migration-iteration' for domain '${D}': iteration: '1'`),
  suspendedMigrated: at('18:47:22.680', `event 'lifecycle' for domain '${D}': Suspended Migrated`),
  stoppedMigrated: at('18:47:24.116', `event 'lifecycle' for domain '${D}': Stopped Migrated`),
  jobCompleted: at('18:47:24.116', `event 'job-completed' for domain '${D}':`),
  jobCompletedCont: '\toperation: 5',
  startedMigrated: at('18:47:18.604', `event 'lifecycle' for domain '${D}': Started Migrated`),
  resumedMigrated: at('18:47:22.706', `event 'lifecycle' for domain '${D}': Resumed Migrated`),
  controlError: at('18:47:37.078', `event 'control-error' for domain '${D}'`),
  stoppedFailed: at('18:47:39.080', `event 'lifecycle' for domain '${D}': Stopped Failed`),
  stoppedDestroyed: at('18:50:01.000', `event 'lifecycle' for domain '${D}': Stopped Destroyed`),
  stoppedShutdown: at('18:50:02.000', `event 'lifecycle' for domain '${D}': Stopped Shutdown`),
  foreign: at('18:50:03.000', `event 'lifecycle' for domain 'win-server': Stopped Failed`),
};

describe('parseEventLine', () => {
  it('parses a lifecycle line with its timestamp', () => {
    expect(parseEventLine(CAPTURED.started)).toEqual({
      time: new Date('2026-11-25T18:46:59.632Z'),
      kind: 'lifecycle',
      domain: D,
      detail: 'Started Booted',
    });
  });
  it('parses other kinds, with and without detail', () => {
    expect(parseEventLine(CAPTURED.graphics)?.kind).toBe('graphics');
    expect(parseEventLine(CAPTURED.controlError)).toMatchObject({ kind: 'control-error', detail: '' });
    expect(parseEventLine(CAPTURED.jobCompleted)).toMatchObject({ kind: 'job-completed', detail: '' });
  });
  it.each(['', CAPTURED.jobCompletedCont, 'event loop interrupted', 'events received: 3'])('ignores %j', (line) => {
    expect(parseEventLine(line)).toBeUndefined();
  });
  it('honours a non-UTC offset', () => {
    expect(parseEventLine(`2026-11-25 20:00:00.500+0200: event 'lifecycle' for domain '${D}': Started Booted`)?.time.toISOString()).toBe(
      '2026-11-25T18:00:00.500Z',
    );
  });
});

const run = (lines: string[]): string[] => {
  const m = new LifecycleMapper();
  return lines.flatMap((l) => {
    const raw = parseEventLine(l);
    const e = raw && m.map(raw);
    return e ? [`${e.type}:${e.detail}`] : [];
  });
};

describe('LifecycleMapper', () => {
  it('boot → started; destroy and shutdown → stopped', () => {
    expect(run([CAPTURED.defined, CAPTURED.resumedUnpaused, CAPTURED.started, CAPTURED.graphics, CAPTURED.stoppedDestroyed, CAPTURED.stoppedShutdown])).toEqual([
      'started:Started Booted',
      'stopped:Stopped Destroyed',
      'stopped:Stopped Shutdown',
    ]);
  });
  it('a killed QEMU (Stopped Failed) → crashed', () => {
    expect(run([CAPTURED.started, CAPTURED.stoppedFailed])).toEqual(['started:Started Booted', 'crashed:Stopped Failed']);
  });
  it('source of a migration → migrated_out', () => {
    expect(run([CAPTURED.iteration, CAPTURED.suspendedMigrated, CAPTURED.stoppedMigrated, CAPTURED.jobCompleted, CAPTURED.jobCompletedCont])).toEqual([
      'migrated_out:Stopped Migrated',
    ]);
  });
  it('destination → migrated_in once the guest resumes there', () => {
    expect(run([CAPTURED.startedMigrated, CAPTURED.defined, CAPTURED.resumedMigrated])).toEqual(['migrated_in:Resumed Migrated']);
  });
  it('an aborted incoming migration is not a crash', () => {
    expect(run([CAPTURED.startedMigrated, CAPTURED.controlError, CAPTURED.stoppedFailed])).toEqual([]);
  });
  it('ignores domains that are not Deskplane guests', () => {
    expect(run([CAPTURED.foreign])).toEqual([]);
  });
  it('carries the uid and domain name', () => {
    const raw = parseEventLine(CAPTURED.started)!;
    expect(new LifecycleMapper().map(raw)).toMatchObject({ desktopUid: UID, domainName: D, type: 'started' });
  });
});

describe('LineSplitter', () => {
  it('yields whole lines whatever the chunking', () => {
    const text = `${CAPTURED.started}\n${CAPTURED.stoppedFailed}\n`;
    for (let cut = 0; cut <= text.length; cut++) {
      const s = new LineSplitter();
      expect([...s.push(text.slice(0, cut)), ...s.push(text.slice(cut))]).toEqual([CAPTURED.started, CAPTURED.stoppedFailed]);
    }
  });
});
