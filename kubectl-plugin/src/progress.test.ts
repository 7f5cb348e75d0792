import type { Condition, DesktopMigration, KvmHost, VirtualDesktop } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { ChangePrinter, desktopsOnHost, drainLine, drainState, migrationFailureReason, migrationLine, migrationOutcome } from './progress';

const cond = (type: string, status: Condition['status'], reason: string, message = '', observedGeneration?: number): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-03-01T12:00:00Z',
  ...(observedGeneration !== undefined ? { observedGeneration } : {}),
});

const mig = (status: DesktopMigration['status'], targetHost?: string): DesktopMigration => ({
  apiVersion: 'deskplane.io/v1alpha1',
  kind: 'DesktopMigration',
  metadata: { name: 'alice-dev-x7k2p', namespace: 'team-a' },
  spec: { desktopName: 'alice-dev', ...(targetHost ? { targetHost } : {}) },
  ...(status ? { status } : {}),
});

describe('migration progress', () => {
  it('shows the phase, the route and the percent as they become known', () => {
    expect(migrationLine(mig(undefined))).toBe('Pending');
    expect(migrationLine(mig(undefined, 'kvm-host-2'))).toBe('Pending ? -> kvm-host-2');
    expect(migrationLine(mig({ phase: 'Scheduling', conditions: [cond('Progressing', 'True', 'Pending', 'waiting for VirtualDesktop "alice-dev" to be placed on a host')] }))).toBe(
      'Scheduling: waiting for VirtualDesktop "alice-dev" to be placed on a host',
    );
    expect(migrationLine(mig({ phase: 'Migrating', sourceHost: 'kvm-host-1', targetHost: 'kvm-host-2', progressPercent: 42 }))).toBe('Migrating 42% kvm-host-1 -> kvm-host-2');
    expect(migrationLine(mig({ phase: 'Succeeded', sourceHost: 'kvm-host-1', targetHost: 'kvm-host-2', progressPercent: 100, downtimeMs: 35 }))).toBe(
      'Succeeded 100% kvm-host-1 -> kvm-host-2 (downtime 35 ms)',
    );
  });

  it('ends on Succeeded, Failed and Aborted only', () => {
    for (const phase of ['Pending', 'Scheduling', 'PreparingTarget', 'Migrating'] as const) expect(migrationOutcome(mig({ phase }))).toEqual({ done: false });
    expect(migrationOutcome(mig({ phase: 'Succeeded' }))).toEqual({ done: true, ok: true });
    expect(migrationOutcome(mig({ phase: 'Aborted' }))).toEqual({ done: true, ok: false, phase: 'Aborted', reason: 'migration ended Aborted' });
  });

  it('takes the failure reason from Ready=False, then Progressing', () => {
    const failed = mig({
      phase: 'Failed',
      conditions: [cond('Progressing', 'False', 'MigrationFailed', 'progressing says'), cond('Ready', 'False', 'TargetNotReady', 'KvmHost "kvm-host-2" is not Ready')],
    });
    expect(migrationOutcome(failed)).toEqual({ done: true, ok: false, phase: 'Failed', reason: 'TargetNotReady: KvmHost "kvm-host-2" is not Ready' });
    expect(migrationFailureReason(mig({ phase: 'Failed', conditions: [cond('Progressing', 'False', 'MigrationFailed', 'libvirt: migration timed out')] }))).toBe(
      'MigrationFailed: libvirt: migration timed out',
    );
    expect(migrationFailureReason(mig({ phase: 'Failed', conditions: [cond('Ready', 'False', 'DesktopNotFound')] }))).toBe('DesktopNotFound');
  });
});

describe('drain progress', () => {
  const host = (conditions: Condition[], generation = 4): KvmHost => ({
    apiVersion: 'deskplane.io/v1alpha1',
    kind: 'KvmHost',
    metadata: { name: 'kvm-host-1', generation },
    spec: { agentEndpoint: 'h:7443', maintenance: true },
    status: { conditions },
  });

  it('is drained only by a Drained=True written for the maintenance request', () => {
    expect(drainState(host([cond('Drained', 'True', 'Drained', 'no guest left on the host', 4)]), 4)).toEqual({ drained: true });
    // Left over from an earlier maintenance window (undrain + drain before the operator looked).
    expect(drainState(host([cond('Drained', 'True', 'Drained', '', 2)]), 4)).toEqual({ drained: false, message: 'waiting for the operator to pick up the maintenance request' });
    expect(drainState(host([]), 4)).toMatchObject({ drained: false, message: /waiting for the operator/ });
    expect(drainState(host([cond('Drained', 'False', 'Draining', '2 desktops still on kvm-host-1', 4)]), 4)).toEqual({ drained: false, message: '2 desktops still on kvm-host-1' });
    expect(drainState(host([cond('Drained', 'True', 'Drained')]), 4)).toEqual({ drained: true });
  });

  it('counts the desktops placed on the host', () => {
    const on = (name: string, h?: string): VirtualDesktop => ({
      apiVersion: 'deskplane.io/v1alpha1',
      kind: 'VirtualDesktop',
      metadata: { name },
      spec: { templateRef: { name: 't' }, owner: 'o' },
      ...(h ? { status: { host: h } } : {}),
    });
    expect(desktopsOnHost([on('a', 'kvm-host-1'), on('b', 'kvm-host-2'), on('c'), on('d', 'kvm-host-1')], 'kvm-host-1').map((d) => d.metadata.name)).toEqual(['a', 'd']);
  });

  it('prints the count and the operator\'s word, and only what changed', () => {
    expect(drainLine('kvm-host-1', 2, { drained: false, message: 'Draining' })).toBe('2 desktops left on kvm-host-1; Draining');
    expect(drainLine('kvm-host-1', 1, { drained: false, message: 'x' })).toBe('1 desktop left on kvm-host-1; x');
    expect(drainLine('kvm-host-1', undefined, { drained: false, message: 'x' })).toBe('x');
    expect(drainLine('kvm-host-1', 0, { drained: true })).toBe('kvm-host-1 drained: no desktop left');
    const lines: string[] = [];
    const p = new ChangePrinter((l) => lines.push(l));
    for (const l of ['2 left', '2 left', '1 left', '1 left', '2 left']) p.show(l);
    expect(lines).toEqual(['2 left', '1 left', '2 left']);
  });
});
