import { getCondition } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { applyStatusPatch } from '../shared/status';
import { ago, GiB, kvmHost, NOW } from '../shared/fixtures';
import { decideHostStatus, type HostObservation } from './decide';
import type { AgentHostInfo } from './probe';

const info: AgentHostInfo = {
  hostname: 'deskplane-host-1',
  hypervisor: 'qemu',
  libvirtVersion: '9.0.0',
  qemuVersion: '7.2.0',
  agentVersion: '0.1.0',
  capacity: { vcpus: 8, memoryBytes: 16 * GiB, diskBytes: 500 * GiB },
  allocated: { vcpus: 2, memoryBytes: 4 * GiB, diskBytes: 3 * GiB },
  guestCount: 1,
};

function run(o: Partial<HostObservation> & Pick<HostObservation, 'host'>) {
  const d = decideHostStatus({ probe: { ok: true, info }, placedDesktops: 0, now: NOW, graceMs: 40_000, ...o });
  const status = applyStatusPatch(o.host.status, d.patch, NOW);
  const cond = (t: string) => {
    const c = getCondition(status.conditions, t);
    return c && `${c.status}/${c.reason}`;
  };
  return { d, status, cond };
}

describe('decideHostStatus: heartbeat', () => {
  it('records what the agent reported and turns Ready on', () => {
    const { status, cond, d } = run({ host: kvmHost('h1', { ready: null, status: { heartbeatTime: undefined } }) });
    expect(d.ready).toBe('True');
    expect(status).toMatchObject({
      capacity: { vcpus: 8, memory: '16Gi', disk: '500Gi' },
      allocatable: { vcpus: 8, memory: '16Gi', disk: '500Gi' },
      allocated: { vcpus: 2, memory: '4Gi', disk: '3Gi' },
      guestCount: 1,
      hypervisor: { type: 'qemu', libvirtVersion: '9.0.0', qemuVersion: '7.2.0', agentVersion: '0.1.0' },
      heartbeatTime: '2026-01-15T10:00:00Z',
      observedGeneration: 1,
    });
    expect(cond('Ready')).toBe('True/AgentReady');
  });

  it('subtracts spec.reserved from what the agent offers (no overcommit on top of the agent\'s)', () => {
    const { status } = run({ host: kvmHost('h1', { spec: { reserved: { vcpus: 2, memory: '4Gi' }, overcommit: { cpuPercent: 400 } } }) });
    expect(status.allocatable).toEqual({ vcpus: 6, memory: '12Gi', disk: '500Gi' });
    expect(status.capacity).toEqual({ vcpus: 8, memory: '16Gi', disk: '500Gi' });
  });

  // [case, last heartbeat (s ago) or undefined, created (s ago), Ready before, expected Ready after]
  const failures: Array<[string, number | undefined, number, 'True' | 'False' | null, string | undefined]> = [
    ['a missed heartbeat within the grace period keeps Ready=True', 30, 3600, 'True', 'True/AgentReady'],
    ['a heartbeat older than the grace period turns Ready False', 41, 3600, 'True', 'False/AgentUnreachable'],
    ['never heartbeated, new host: Unknown while waiting', undefined, 10, null, 'Unknown/AwaitingHeartbeat'],
    ['never heartbeated, created before the grace period: False', undefined, 120, null, 'False/AgentUnreachable'],
    ['already False stays False', 300, 3600, 'False', 'False/AgentUnreachable'],
  ];
  it.each(failures)('%s', (_name, lastS, createdS, before, expected) => {
    const host = kvmHost('h1', { ready: before, status: { heartbeatTime: lastS === undefined ? undefined : ago(lastS) } });
    host.metadata.creationTimestamp = ago(createdS);
    const { status, cond } = run({ host, probe: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:7443' } });
    expect(cond('Ready')).toBe(expected);
    expect(status.capacity).toEqual(host.status?.capacity); // the last report is kept
    if (expected?.startsWith('False')) expect(getCondition(status.conditions, 'Ready')?.message).toMatch(/ECONNREFUSED/);
  });

  it('says how long the heartbeat has been missing', () => {
    const { status } = run({ host: kvmHost('h1', { status: { heartbeatTime: ago(45) } }), probe: { ok: false, error: 'deadline exceeded' } });
    expect(getCondition(status.conditions, 'Ready')?.message).toBe('no heartbeat for 45s: deadline exceeded');
  });
});

describe('decideHostStatus: schedulable and drained', () => {
  const cases: Array<[string, Partial<ReturnType<typeof kvmHost>['spec']>, number, number, string, string]> = [
    ['default', {}, 0, 0, 'True/Schedulable', 'False/NotInMaintenance'],
    ['cordoned', { schedulable: false }, 0, 0, 'False/Cordoned', 'False/NotInMaintenance'],
    ['maintenance with guests left', { maintenance: true }, 1, 0, 'False/Maintenance', 'False/Draining'],
    ['maintenance, desktops still placed', { maintenance: true, schedulable: false }, 0, 2, 'False/Maintenance', 'False/Draining'],
    ['maintenance, empty', { maintenance: true }, 0, 0, 'False/Maintenance', 'True/Drained'],
  ];
  it.each(cases)('%s', (_n, spec, guests, placed, schedulable, drained) => {
    const { cond } = run({ host: kvmHost('h1', { spec }), probe: { ok: true, info: { ...info, guestCount: guests } }, placedDesktops: placed });
    expect(cond('Schedulable')).toBe(schedulable);
    expect(cond('Drained')).toBe(drained);
  });
});

describe('decideHostStatus: the Draining message', () => {
  const drained = (placed: number, guests: number, drainNote?: string) => {
    const { status } = run({ host: kvmHost('host-1', { spec: { maintenance: true } }), probe: { ok: true, info: { ...info, guestCount: guests } }, placedDesktops: placed, ...(drainNote ? { drainNote } : {}) });
    return getCondition(status.conditions, 'Drained')?.message;
  };
  it.each([
    [3, 3, undefined, '3 desktops still on host-1'],
    [1, 0, undefined, '1 desktop still on host-1'],
    [0, 2, undefined, 'the agent still reports 2 guests on host-1'],
    [2, 2, 'waiting: team-a/p: provisioning', '2 desktops still on host-1; waiting: team-a/p: provisioning'],
    [0, 0, undefined, 'no guest left on the host'],
  ])('%i placed, %i guests → %s', (placed, guests, note, message) => {
    expect(drained(placed, guests, note)).toBe(message);
  });
});
