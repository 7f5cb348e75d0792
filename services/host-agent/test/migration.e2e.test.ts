import { randomBytes, randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, collect, grpcError, serialLogOf, startAgent, stopAgent, ticks, waitForTicks, type AgentUnderTest } from './support/agents';
import { TEST_GOLDEN_IMAGE, testbedHosts, type TestbedHosts } from './support/testbed-hosts';

// Live migration between the testbed's two libvirtd hosts through two agents: a plain
// migration with progress, an abort of one held back by a bandwidth cap, and raising the
// cap of a held-back one so it finishes. One guest goes host-1 → host-2 → (abort) → host-1.

const MiB = 1024n * 1024n;
const Phase = hostAgent.MigrationPhase;

describe('host agent e2e: live migration between two real libvirtd hosts', () => {
  let tb: TestbedHosts;
  let h1: AgentUnderTest;
  let h2: AgentUnderTest;
  const uid = randomUUID();
  const serialLog = (): string => serialLogOf(tb.storageDir, uid);

  const migrate = (from: AgentUnderTest, to: AgentUnderTest, policy: Partial<hostAgent.MigrationPolicy> = {}) =>
    from.client.migrateGuest({
      desktopUid: uid,
      destinationMigrationUri: to.config.migrationUri,
      destinationAddress: to.config.consoleAddress,
      graphicsUri: '',
      policy: { ...hostAgent.MigrationPolicy.create(), ...policy },
    });

  const guestOn = (a: AgentUnderTest) => call<hostAgent.Guest>(cb => a.client.getGuest({ desktopUid: uid }, cb));

  /** Resolves with the first progress message of a phase (the stream keeps being collected). */
  function firstOfPhase(stream: ReturnType<typeof migrate>, phase: hostAgent.MigrationPhase): Promise<hostAgent.MigrationProgress> {
    return new Promise((resolve, reject) => {
      stream.on('data', (p: hostAgent.MigrationProgress) => p.phase === phase && resolve(p));
      stream.on('error', reject);
      stream.on('end', () => reject(new Error(`the migration stream ended before phase ${Phase[phase]}`)));
    });
  }

  beforeAll(async () => {
    tb = testbedHosts();
    if (tb.hosts.length < 2) throw new Error('the migration tests need two testbed hosts ("testbed up --hosts 2")');
    h1 = await startAgent(tb, tb.hosts[0]!);
    h2 = await startAgent(tb, tb.hosts[1]!);
    const spec: hostAgent.GuestSpec = {
      desktopUid: uid,
      displayName: 'e2e migration',
      vcpus: 1,
      memoryBytes: 192n * MiB,
      diskBytes: 256n * MiB,
      goldenImage: TEST_GOLDEN_IMAGE,
      spice: { password: randomBytes(12).toString('base64url'), imageCompression: 0, streamingMode: 0 },
    };
    await call(cb => h1.client.ensureGuest({ spec }, cb));
    await call(cb => h1.client.startGuest({ desktopUid: uid }, cb));
    await waitForTicks(serialLog(), 0, 60_000);
  });

  afterAll(async () => {
    for (const a of [h1, h2]) {
      if (!a) continue;
      await call(cb => a.client.abortMigration({ desktopUid: uid }, cb)).catch(() => undefined);
      await call(cb => a.client.deleteGuest({ desktopUid: uid }, cb)).catch(() => undefined);
    }
    await stopAgent(h1);
    await stopAgent(h2);
    await tb?.cleanup();
  });

  it('moves a running guest host-1 → host-2, streaming progress; it runs on host-2 and is gone from host-1', async () => {
    const progress = await collect(migrate(h1, h2, { autoConverge: true, completionTimeoutSeconds: 120 }));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]!.phase).toBe(Phase.MIGRATION_PHASE_STARTING);
    const final = progress.at(-1)!;
    expect(final).toMatchObject({ desktopUid: uid, phase: Phase.MIGRATION_PHASE_SUCCEEDED });
    expect(final.downtimeMs).toBeGreaterThan(0n);
    expect(final.elapsedMs).toBeGreaterThan(0n);

    const there = await guestOn(h2);
    expect(there.state).toBe(hostAgent.GuestState.GUEST_STATE_RUNNING);
    expect(there.consoleAddress).toBe(h2.config.consoleAddress);
    expect(there.spicePort).toBeGreaterThan(0);
    expect((await grpcError(guestOn(h1))).code).toBe(status.NOT_FOUND);
    // the counter keeps going on host-2 (the serial log is on shared storage)
    await waitForTicks(serialLog(), Math.max(0, ...ticks(serialLog())), 30_000);
  });

  it('aborts a migration held back by a 1 MiB/s cap; the guest keeps running at the source', async () => {
    const stream = migrate(h2, h1, { bandwidthMibPerSecond: 1n });
    const all = collect(stream);
    await firstOfPhase(stream, Phase.MIGRATION_PHASE_MIGRATING);

    // a second migration of the same guest is refused while one runs
    const second = await grpcError(collect(migrate(h2, h1)));
    expect(second.code).toBe(status.ABORTED);
    // so are lifecycle calls
    expect((await grpcError(call(cb => h2.client.stopGuest({ desktopUid: uid, timeoutSeconds: 1 }, cb)))).code).toBe(status.FAILED_PRECONDITION);

    expect(await call<hostAgent.AbortMigrationResponse>(cb => h2.client.abortMigration({ desktopUid: uid }, cb))).toEqual({ aborted: true });
    const progress = await all;
    expect(progress.at(-1)!.phase).toBe(Phase.MIGRATION_PHASE_ABORTED);
    expect(progress.at(-1)!.bytesProcessed).toBeLessThan(192n * MiB);

    expect((await guestOn(h2)).state).toBe(hostAgent.GuestState.GUEST_STATE_RUNNING);
    expect((await grpcError(guestOn(h1))).code).toBe(status.NOT_FOUND);
    await waitForTicks(serialLog(), Math.max(0, ...ticks(serialLog())), 30_000);
    // nothing to abort any more
    expect(await call<hostAgent.AbortMigrationResponse>(cb => h2.client.abortMigration({ desktopUid: uid }, cb))).toEqual({ aborted: false });
    expect((await grpcError(call(cb => h2.client.setMigrationBandwidth({ desktopUid: uid, bandwidthMibPerSecond: 0n }, cb)))).code).toBe(status.FAILED_PRECONDITION);
  });

  it('raising the cap of a held-back migration lets it finish', async () => {
    const stream = migrate(h2, h1, { bandwidthMibPerSecond: 1n });
    const all = collect(stream);
    await firstOfPhase(stream, Phase.MIGRATION_PHASE_MIGRATING);
    const raised = await call<hostAgent.MigrationProgress>(cb => h2.client.setMigrationBandwidth({ desktopUid: uid, bandwidthMibPerSecond: 0n }, cb));
    expect(raised.desktopUid).toBe(uid);
    const progress = await all;
    expect(progress.at(-1)!.phase).toBe(Phase.MIGRATION_PHASE_SUCCEEDED);
    expect((await guestOn(h1)).state).toBe(hostAgent.GuestState.GUEST_STATE_RUNNING);
    expect((await grpcError(guestOn(h2))).code).toBe(status.NOT_FOUND);
    await waitForTicks(serialLog(), Math.max(0, ...ticks(serialLog())), 30_000);
  });
});
