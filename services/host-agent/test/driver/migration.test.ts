import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeSpiceLink } from '../../../../testbed/src/probes/spice';
import { LibvirtDriver } from '../../src/driver/libvirt-driver';
import type { DomainEvent, GuestDefinition, MigrationOptions, MigrationStats } from '../../src/driver/types';
import { AbortedError, FailedPreconditionError, NotFoundError } from '../../src/errors';
import { testbedHosts, type TestbedHosts } from '../support/testbed-hosts';
import { serialLogOf, testGuest, ticks, timing, waitForTicks, waitUntil } from './helpers';

const virsh = (uri: string, ...args: string[]): string => execFileSync('virsh', ['-q', '-c', uri, ...args], { encoding: 'utf8' }).trim();
const domainNames = (uri: string): string[] => virsh(uri, 'list', '--all', '--name').split('\n').filter(Boolean);

let tb: TestbedHosts;
let src: LibvirtDriver;
let dst: LibvirtDriver;
const uids: string[] = [];
const events: { host: string; e: DomainEvent }[] = [];
const subs: { close(): void }[] = [];

function options(overrides: Partial<MigrationOptions> = {}): MigrationOptions {
  const h = tb.hosts[1]!;
  return {
    destinationUri: h.config.libvirtUri,
    destinationAddress: h.config.consoleAddress,
    bandwidthMiBps: 0,
    autoConverge: false,
    postCopy: false,
    postCopyAfterSeconds: 0,
    completionTimeoutSeconds: 0,
    maxDowntimeMs: 0,
    ...overrides,
  };
}

/** A running guest on host-1 whose counter is advancing. */
async function runningGuest(): Promise<GuestDefinition> {
  const def = testGuest();
  uids.push(def.desktopUid);
  await src.ensureGuest(def);
  await src.startGuest(def.desktopUid);
  await waitForTicks(serialLogOf(tb.storageDir, def.desktopUid), 0, 90_000);
  return def;
}

/** Resolves on the first progress report in phase 'migrating' (the job is visible). */
function migrating(progress: MigrationStats[]): Promise<MigrationStats> {
  return waitUntil('the migration to report phase migrating', () => progress.find((p) => p.phase === 'migrating'), 30_000, 100);
}

beforeAll(() => {
  tb = testbedHosts();
  src = new LibvirtDriver(tb.hosts[0]!.config);
  dst = new LibvirtDriver(tb.hosts[1]!.config);
  subs.push(src.watchEvents((e) => events.push({ host: 'host-1', e })));
  subs.push(dst.watchEvents((e) => events.push({ host: 'host-2', e })));
});

afterEach(async () => {
  for (const uid of uids) {
    await src.abortMigration(uid);
    await dst.abortMigration(uid);
  }
  for (const uid of uids.splice(0)) {
    await src.deleteGuest(uid).catch(() => undefined);
    await dst.deleteGuest(uid).catch(() => undefined);
  }
});

afterAll(async () => {
  console.log(`[host-agent driver] host-1 virsh latency medians (ms): ${JSON.stringify(src?.callTimings())}`);
  console.log(`[host-agent driver] host-2 virsh latency medians (ms): ${JSON.stringify(dst?.callTimings())}`);
  for (const s of subs) s.close();
  await src?.close();
  await dst?.close();
  await tb?.cleanup();
});

describe('live migration between testbed hosts (LibvirtDriver)', () => {
  it('moves a running guest host-1 → host-2 with progress; it keeps counting and keeps its console password', async () => {
    const def = await runningGuest();
    const uid = def.desktopUid;
    const log = serialLogOf(tb.storageDir, uid);
    const progress: MigrationStats[] = [];
    const t0 = performance.now();
    const result = await src.migrateGuest(uid, options(), (s) => progress.push(s));
    timing('migrateGuest (idle 256 MiB guest, unlimited)', performance.now() - t0);
    console.log(`[host-agent driver] migration result: ${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);

    expect(result.phase).toBe('succeeded');
    expect(result.bytesRemaining).toBe(0n);
    expect(result.bytesProcessed).toBeGreaterThan(0n);
    expect(result.downtimeMs).toBeGreaterThanOrEqual(0);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]!.phase).toBe('starting');

    const moved0 = await dst.getGuest(uid);
    expect(moved0.state).toBe('running');
    await expect(src.getGuest(uid)).rejects.toBeInstanceOf(NotFoundError);
    expect(domainNames(tb.hosts[0]!.config.libvirtUri)).not.toContain(`dp-${uid}`);
    const last = Math.max(...ticks(log));
    const [a] = await waitForTicks(log, last, 30_000);
    expect(a - last).toBeLessThan(30); // it counted on: no reboot

    // Cleaning up the source must not take the shared disk from the guest now on host-2.
    expect(await src.deleteGuest(uid)).toBe(false);
    expect(existsSync(moved0.diskPath)).toBe(true);

    const moved = await dst.getGuest(uid);
    const probe = await probeSpiceLink({ host: tb.hosts[1]!.config.consoleAddress, port: moved.spicePort, password: def.spice.password, timeoutMs: 10_000 });
    expect(probe.result).toBe(0);

    await waitUntil('migrated_out on host-1 and migrated_in on host-2', () => {
      const mine = events.filter((x) => x.e.desktopUid === uid);
      return mine.some((x) => x.host === 'host-1' && x.e.type === 'migrated_out') && mine.some((x) => x.host === 'host-2' && x.e.type === 'migrated_in')
        ? true
        : undefined;
    }, 10_000);
    expect(events.filter((x) => x.e.desktopUid === uid && x.e.type === 'crashed')).toEqual([]);
  });

  describe('a migration held back at 1 MiB/s', () => {
    let def: GuestDefinition;
    beforeAll(async () => {
      def = await runningGuest();
      uids.splice(uids.indexOf(def.desktopUid), 1); // this describe cleans it up itself
    });
    afterEach(async () => {
      // A failed step must not leave a held migration running into the next one.
      await src.abortMigration(def.desktopUid);
      await dst.abortMigration(def.desktopUid);
    });
    afterAll(async () => {
      await src.deleteGuest(def.desktopUid).catch(() => undefined);
      await dst.deleteGuest(def.desktopUid).catch(() => undefined);
    });

    it('aborts: the guest keeps running on host-1 and nothing is left on host-2', async () => {
      const uid = def.desktopUid;
      const progress: MigrationStats[] = [];
      const done = src.migrateGuest(uid, options({ bandwidthMiBps: 1 }), (s) => progress.push(s));
      const seen = await migrating(progress);
      expect(seen.bytesTotal).toBeGreaterThan(0n);
      await expect(src.migrateGuest(uid, options(), () => undefined)).rejects.toBeInstanceOf(AbortedError);

      const t0 = performance.now();
      expect(await src.abortMigration(uid)).toBe(true);
      timing('abortMigration (until the migrate call ended)', performance.now() - t0);
      const result = await done;
      expect(result.phase).toBe('aborted');
      expect(result.message).toMatch(/abort|cancel/i);
      expect(await src.abortMigration(uid)).toBe(false);
      await expect(src.setMigrationBandwidth(uid, 10)).rejects.toBeInstanceOf(FailedPreconditionError);

      expect((await src.getGuest(uid)).state).toBe('running');
      await waitUntil(`dp-${uid} to be gone from host-2`, () => (domainNames(tb.hosts[1]!.config.libvirtUri).includes(`dp-${uid}`) ? undefined : true), 10_000);
      const log = serialLogOf(tb.storageDir, uid);
      await waitForTicks(log, Math.max(...ticks(log)), 30_000);
      // The destination's failed incoming domain is not anyone's crash.
      expect(events.filter((x) => x.e.desktopUid === uid && x.e.type !== 'started')).toEqual([]);
    });

    it('gives up after the completion timeout with phase aborted', async () => {
      const uid = def.desktopUid;
      const result = await src.migrateGuest(uid, options({ bandwidthMiBps: 1, completionTimeoutSeconds: 2 }), () => undefined);
      expect(result.phase).toBe('aborted');
      expect(result.message).toContain('did not complete within 2 s');
      expect((await src.getGuest(uid)).state).toBe('running');
    });

    it('finishes once the bandwidth is raised', async () => {
      const uid = def.desktopUid;
      const progress: MigrationStats[] = [];
      const done = src.migrateGuest(uid, options({ bandwidthMiBps: 1, maxDowntimeMs: 500 }), (s) => progress.push(s));
      await migrating(progress);
      const t0 = performance.now();
      const now = await src.setMigrationBandwidth(uid, 0);
      expect(['migrating', 'succeeded']).toContain(now.phase);
      const result = await done;
      timing('migration after the bandwidth was raised (until done)', performance.now() - t0);
      expect(result.phase).toBe('succeeded');
      expect((await dst.getGuest(uid)).state).toBe('running');
      await expect(src.getGuest(uid)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('comes back host-2 → host-1 by switching to post-copy', async () => {
      const uid = def.desktopUid;
      const back = tb.hosts[0]!.config;
      const progress: MigrationStats[] = [];
      const result = await dst.migrateGuest(
        uid,
        options({ destinationUri: back.libvirtUri, destinationAddress: back.consoleAddress, bandwidthMiBps: 1, postCopy: true, postCopyAfterSeconds: 1 }),
        (s) => progress.push(s),
      );
      expect(result.phase).toBe('succeeded');
      expect(progress.map((p) => p.phase)).toContain('post_copy');
      expect((await src.getGuest(uid)).state).toBe('running');
      const log = serialLogOf(tb.storageDir, uid);
      await waitForTicks(log, Math.max(...ticks(log)), 30_000);
    });
  });
});
