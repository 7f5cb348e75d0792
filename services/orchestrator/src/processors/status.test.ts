import { describe, expect, it } from 'vitest';
import type { MigrateDesktopJob } from '@deskplane/queue-contracts';
import { applyStatusPatch } from '../resources';
import { failedPatch, provisioningPatch, runningPatch, stoppedPatch } from './desktop-status';
import { endedPatch, migratedDesktopPatch, migrateRequest, progressPatch, succeededPatch } from './migration-status';
import { guestSpec } from './provision';
import { hostsToClean } from './deprovision';

const now = new Date('2026-01-31T09:30:00.123Z');
const job: MigrateDesktopJob = {
  action: 'migrate',
  migration: { namespace: 'a', name: 'm', uid: '11111111-2222-3333-4444-555555555555', generation: 1 },
  desktop: { namespace: 'a', name: 'vd', uid: '66666666-2222-3333-4444-555555555555', generation: 3 },
  sourceHost: 'kvm-1',
  targetHost: 'kvm-2',
  policy: { bandwidthMiBps: 256, autoConverge: true },
};

describe('desktop status per step', () => {
  it('Provisioning → Running: console route, runningAt, Ready=True with the generation; no password anywhere', () => {
    let s = applyStatusPatch({ phase: 'Provisioning' as const, host: 'kvm-1' }, provisioningPatch('kvm-1', 3), now);
    expect(s.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'Provisioning', observedGeneration: 3 });
    s = applyStatusPatch(s, runningPatch('kvm-1', { address: '127.0.1.1', port: 5901 }, undefined, now, 3), now);
    expect(s).toMatchObject({ phase: 'Running', host: 'kvm-1', console: { ready: true, address: '127.0.1.1', port: 5901 }, timings: { runningAt: '2026-01-31T09:30:00Z' } });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Running', observedGeneration: 3 });
    expect(JSON.stringify(s)).not.toMatch(/password/i);
  });

  it('Stopped and Failed close the console', () => {
    expect(applyStatusPatch({}, stoppedPatch('kvm-1', undefined, now, 1), now)).toMatchObject({ phase: 'Stopped', console: { ready: false }, timings: { stoppedAt: '2026-01-31T09:30:00Z' } });
    const f = applyStatusPatch({ console: { ready: true, address: 'x', port: 1 } }, failedPatch('ProvisionFailed', 'EnsureGuest on kvm-1: FAILED_PRECONDITION: no image', 2, true), now);
    expect(f.console).toEqual({ ready: false });
    expect(f.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
      ['Ready', 'False', 'ProvisionFailed', 2],
      ['Provisioned', 'False', 'ProvisionFailed', 2],
    ]);
  });
});

describe('migration pieces', () => {
  it('MigrateGuest request from the job policy and the destination HostInfo', () => {
    expect(migrateRequest(job, { migrationUri: 'qemu+tls://kvm-2/system', consoleAddress: '10.0.0.2' })).toEqual({
      desktopUid: job.desktop.uid,
      destinationMigrationUri: 'qemu+tls://kvm-2/system',
      destinationAddress: '10.0.0.2',
      graphicsUri: '',
      policy: { bandwidthMibPerSecond: 256n, autoConverge: true, postCopy: false, postCopyAfterSeconds: 0, completionTimeoutSeconds: 300, maxDowntimeMs: 0 },
    });
  });

  it('progress percent from processed and remaining bytes', () => {
    expect(progressPatch({ bytesProcessed: 25n, bytesRemaining: 75n }).set).toEqual({ bytesProcessed: 25, bytesRemaining: 75, progressPercent: 25 });
    expect(progressPatch({ bytesProcessed: 0n, bytesRemaining: 0n }).set?.progressPercent).toBe(0);
  });

  it('Succeeded carries bytes, downtime and end time; Aborted and Failed say why', () => {
    const s = applyStatusPatch({ phase: 'Migrating' as const }, succeededPatch({ bytesProcessed: 50, downtimeMs: 40 }, now, 1, 'kvm-2'), now);
    expect(s).toMatchObject({ phase: 'Succeeded', bytesProcessed: 50, bytesRemaining: 0, progressPercent: 100, downtimeMs: 40, endTime: '2026-01-31T09:30:00Z' });
    const recovered = applyStatusPatch({}, succeededPatch({}, now, 1, 'kvm-2'), now);
    expect(recovered.downtimeMs).toBeUndefined();
    expect(applyStatusPatch({}, endedPatch('Aborted', 'deleted', now, 1), now).conditions?.[0]).toMatchObject({ reason: 'MigrationAborted', status: 'False' });
  });

  it('the desktop moves host and console and drops migrationRef', () => {
    const d = applyStatusPatch({ phase: 'Migrating' as const, host: 'kvm-1', migrationRef: { name: 'm' } }, migratedDesktopPatch('kvm-2', { address: '127.0.1.2', port: 5900 }, 3), now);
    expect(d).toMatchObject({ phase: 'Running', host: 'kvm-2', console: { ready: true, address: '127.0.1.2', port: 5900 } });
    expect(d.migrationRef).toBeUndefined();
  });
});

describe('provision and deprovision pieces', () => {
  it('GuestSpec from the job: sizes as bigint, SPICE settings mapped', () => {
    const spec = guestSpec(
      {
        action: 'provision',
        desktop: job.desktop,
        host: 'kvm-1',
        runStrategy: 'Always',
        template: { name: 't', goldenImage: 'busybox', vcpus: 1, memoryBytes: '268435456', diskBytes: '1073741824', imageCompression: 'quic', streamingMode: 'off' },
      },
      'pw',
    );
    expect(spec).toMatchObject({ desktopUid: job.desktop.uid, displayName: 'a/vd', vcpus: 1, memoryBytes: 268435456n, diskBytes: 1073741824n, goldenImage: 'busybox', spice: { password: 'pw', imageCompression: 3, streamingMode: 3 } });
  });

  it('deprovision cleans the job host, the current host and a migration target, once each', () => {
    expect(hostsToClean('kvm-1', 'kvm-1')).toEqual(['kvm-1']);
    expect(hostsToClean('kvm-1', 'kvm-2', 'kvm-2')).toEqual(['kvm-1', 'kvm-2']);
    expect(hostsToClean(undefined, undefined)).toEqual([]);
  });
});
