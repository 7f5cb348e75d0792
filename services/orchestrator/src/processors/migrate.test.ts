/** The migrate flow's crash-safety decisions, over fake agents and the embedded store (no gRPC, no Redis). */
import { status } from '@grpc/grpc-js';
import { EmbeddedStore } from '@deskplane/resource-store';
import type { MigrateDesktopJob } from '@deskplane/queue-contracts';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { GuestState, MigrationPhase, type Guest, type HostAgent, type MigrationProgress } from '../agents';
import { AgentCallError, SlotUnavailableError } from '../errors';
import { RESOURCE_TYPES, type DesktopObject, type MigrationObject } from '../resources';
import type { MigrationSlots } from '../slots';
import { DEFAULT_TIMING, NO_GATEWAY_HOOKS, type ProcessorDeps } from './context';
import { migrate } from './migrate';

const uid = '66666666-2222-3333-4444-555555555555';
const guest = (state: number, port = 5900): Guest => ({ desktopUid: uid, domainName: `dp-${uid}`, state, spicePort: port, consoleAddress: '127.0.0.9', vcpus: 1, memoryBytes: 1n, diskPath: '', goldenImage: 'busybox', stateReason: '' });

class FakeAgent implements HostAgent {
  calls: string[] = [];
  guest: Guest | undefined;
  migrateScript: Array<() => Promise<MigrationProgress>> = [];
  constructor(readonly host: string) {}
  getHostInfo = () => Promise.resolve({ migrationUri: `qemu://${this.host}`, consoleAddress: '127.0.0.9' } as never);
  ensureGuest = () => Promise.reject(new Error('unused'));
  startGuest = () => Promise.reject(new Error('unused'));
  stopGuest = () => Promise.reject(new Error('unused'));
  deleteGuest = () => Promise.resolve(false);
  getGuest = () => Promise.resolve(this.guest);
  listGuests = () => Promise.resolve(this.guest ? [this.guest] : []);
  requests: unknown[] = [];
  bandwidth: number[] = [];
  /** The phase of the first progress report (the real agent reports STARTING before data moves). */
  firstPhase = MigrationPhase.MIGRATION_PHASE_MIGRATING;
  progress?: (p: MigrationProgress) => void;
  migrateGuest = (req: unknown, onProgress: (p: MigrationProgress) => void) => {
    this.calls.push('migrateGuest');
    this.requests.push(req);
    this.progress = onProgress;
    onProgress({ phase: this.firstPhase, bytesProcessed: 10n, bytesRemaining: 10n } as MigrationProgress);
    return this.migrateScript.shift()!();
  };
  abortMigration = () => {
    this.calls.push('abortMigration');
    return Promise.resolve(true);
  };
  setMigrationBandwidth = (_uid: string, mibps: number) => {
    this.bandwidth.push(mibps);
    this.calls.push('setMigrationBandwidth');
    return Promise.resolve();
  };
}

async function setup(slotsFree = true) {
  const store = new EmbeddedStore();
  const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const migrations = store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration);
  const vd = await desktops.create({ apiVersion: 'deskplane.io/v1alpha1', kind: 'VirtualDesktop', metadata: { name: 'vd', namespace: 'a', uid }, spec: { templateRef: { name: 't' }, owner: 'x' } });
  await desktops.updateStatus({ ...vd, status: { phase: 'Running', host: 'kvm-1', console: { ready: true, address: '127.0.0.1', port: 5901 } } });
  const m = await migrations.create({ apiVersion: 'deskplane.io/v1alpha1', kind: 'DesktopMigration', metadata: { name: 'm', namespace: 'a' }, spec: { desktopName: 'vd' } });
  await migrations.updateStatus({ ...m, status: { phase: 'PreparingTarget', sourceHost: 'kvm-1', targetHost: 'kvm-2' } });
  const agents = { 'kvm-1': new FakeAgent('kvm-1'), 'kvm-2': new FakeAgent('kvm-2') };
  const held = new Set<string>();
  const slots: MigrationSlots = {
    limits: { perHostOutbound: 2, global: 5 },
    acquire: (h) => Promise.resolve(slotsFree && (held.add(h), true)),
    renew: () => Promise.resolve(true),
    release: (h) => Promise.resolve(void held.delete(h)),
    holders: () => Promise.resolve([...held]),
  };
  const deps: ProcessorDeps = {
    agents: { forHost: (h) => Promise.resolve(agents[h as 'kvm-1']), close: () => undefined },
    desktops,
    migrations,
    secrets: { ensure: () => Promise.resolve('x'), get: () => Promise.resolve(undefined), delete: () => Promise.resolve(false) },
    events: store.events,
    slots,
    hooks: NO_GATEWAY_HOOKS,
    timing: { ...DEFAULT_TIMING, pollMs: 5, progressWriteMs: 0 },
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  const job: MigrateDesktopJob = {
    action: 'migrate',
    migration: { namespace: 'a', name: 'm', uid: m.metadata.uid!, generation: 1 },
    desktop: { namespace: 'a', name: 'vd', uid: vd.metadata.uid!, generation: 1 },
    sourceHost: 'kvm-1',
    targetHost: 'kvm-2',
    policy: {},
  };
  const ctx = { log: pino({ level: 'silent' }), jobId: 'migrate.job' };
  return { deps, job, ctx, agents, held, desktops, migrations };
}

const succeeded = (): Promise<MigrationProgress> => Promise.resolve({ phase: MigrationPhase.MIGRATION_PHASE_SUCCEEDED, bytesProcessed: 1000n, downtimeMs: 12n } as MigrationProgress);

describe('migrate processor', () => {
  it('runs the migration and moves the desktop; the slot is released', async () => {
    const t = await setup();
    t.agents['kvm-1'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    t.agents['kvm-1'].migrateScript = [() => ((t.agents['kvm-1'].guest = undefined), (t.agents['kvm-2'].guest = guest(GuestState.GUEST_STATE_RUNNING, 5907)), succeeded())];
    const out = await migrate(t.job, t.deps, t.ctx);
    expect(out).toMatchObject({ result: 'done', downtimeMs: 12, bytesProcessed: 1000, recovered: false });
    const vd = await t.desktops.get('vd', 'a');
    expect(vd?.status).toMatchObject({ phase: 'Running', host: 'kvm-2', console: { ready: true, port: 5907 } });
    expect(vd?.metadata.labels?.['deskplane.io/host']).toBe('kvm-2');
    expect((await t.migrations.get('m', 'a'))?.status).toMatchObject({ phase: 'Succeeded', downtimeMs: 12, bytesProcessed: 1000 });
    expect(t.held.size).toBe(0);
  });

  it('with a gateway: starts capped with the graphics URI, lifts the cap only after the gateway is ready, reports the outcome', async () => {
    const t = await setup();
    t.job.policy = { bandwidthMiBps: 300 };
    const seen: string[] = [];
    let release!: () => void;
    const gatewayReady = new Promise<void>((r) => (release = r));
    t.deps.hooks = {
      graphicsUri: 'spice://gw.example:5900',
      holdBandwidthMiBps: 2,
      beforeLiftingCap: async (m) => {
        seen.push(`prepare ${m.desktop} → ${m.destination.address}:${m.destination.port}`);
        await gatewayReady;
        seen.push('ready');
      },
      afterMigration: (m) => Promise.resolve(void seen.push(`finish ${m.desktop} ${m.succeeded}`)),
    };
    t.agents['kvm-1'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    t.agents['kvm-2'].guest = guest(GuestState.GUEST_STATE_PAUSED, 5911); // the incoming QEMU
    t.agents['kvm-1'].migrateScript = [
      async () => {
        await new Promise((r) => setTimeout(r, 20));
        expect(t.agents['kvm-1'].bandwidth).toEqual([]); // still held: the gateway is not ready
        release();
        await vi.waitFor(() => expect(t.agents['kvm-1'].bandwidth).toEqual([300]));
        t.agents['kvm-1'].guest = undefined;
        t.agents['kvm-2'].guest = guest(GuestState.GUEST_STATE_RUNNING, 5911);
        return succeeded();
      },
    ];
    expect(await migrate(t.job, t.deps, t.ctx)).toMatchObject({ result: 'done' });
    expect(t.agents['kvm-1'].requests[0]).toMatchObject({ graphicsUri: 'spice://gw.example:5900', policy: { bandwidthMibPerSecond: 2n } });
    expect(seen).toEqual(['prepare vd → 127.0.0.9:5911', 'ready', 'finish vd true']);
  });

  it('with a gateway: nothing is prepared or lifted while the migration is only starting (virsh would overwrite the speed)', async () => {
    const t = await setup();
    t.job.policy = { bandwidthMiBps: 300 };
    const prepared: string[] = [];
    t.deps.hooks = { holdBandwidthMiBps: 2, beforeLiftingCap: (m) => Promise.resolve(void prepared.push(m.desktop)), afterMigration: () => Promise.resolve() };
    t.agents['kvm-1'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    t.agents['kvm-2'].guest = guest(GuestState.GUEST_STATE_PAUSED, 5911);
    t.agents['kvm-1'].firstPhase = MigrationPhase.MIGRATION_PHASE_STARTING;
    t.agents['kvm-1'].migrateScript = [
      async () => {
        await new Promise((r) => setTimeout(r, 30));
        expect(prepared).toEqual([]);
        expect(t.agents['kvm-1'].bandwidth).toEqual([]);
        t.agents['kvm-1'].progress!({ phase: MigrationPhase.MIGRATION_PHASE_MIGRATING, bytesProcessed: 20n, bytesRemaining: 5n } as MigrationProgress);
        await vi.waitFor(() => expect(t.agents['kvm-1'].bandwidth).toEqual([300]));
        expect(prepared).toEqual(['vd']);
        t.agents['kvm-1'].guest = undefined;
        t.agents['kvm-2'].guest = guest(GuestState.GUEST_STATE_RUNNING, 5911);
        return succeeded();
      },
    ];
    expect(await migrate(t.job, t.deps, t.ctx)).toMatchObject({ result: 'done' });
  });

  it('with a gateway: a failed migration is reported as not succeeded', async () => {
    const t = await setup();
    const finished: boolean[] = [];
    t.deps.hooks = { holdBandwidthMiBps: 2, beforeLiftingCap: () => Promise.resolve(), afterMigration: (m) => Promise.resolve(void finished.push(m.succeeded)) };
    t.agents['kvm-1'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    t.agents['kvm-1'].migrateScript = [() => Promise.reject(new AgentCallError('kvm-1', 'MigrateGuest', status.INTERNAL, 'boom'))];
    await expect(migrate(t.job, t.deps, t.ctx)).rejects.toThrow(/boom/);
    expect(finished).toEqual([false]);
  });

  it('after a crash, a guest already running on the target only needs the bookkeeping (no second MigrateGuest)', async () => {
    const t = await setup();
    t.agents['kvm-2'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    expect(await migrate(t.job, t.deps, t.ctx)).toMatchObject({ result: 'done', recovered: true });
    expect(t.agents['kvm-1'].calls).toEqual([]);
    expect((await t.desktops.get('vd', 'a'))?.status?.host).toBe('kvm-2');
  });

  it('after a crash, a migration the agent still runs (ABORTED "already migrating") is followed, not restarted', async () => {
    const t = await setup();
    t.agents['kvm-1'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    t.agents['kvm-1'].migrateScript = [
      () => Promise.reject(new AgentCallError('kvm-1', 'MigrateGuest', status.ABORTED, 'already migrating')),
      () => {
        // the earlier migration finishes meanwhile
        t.agents['kvm-1'].guest = undefined;
        t.agents['kvm-2'].guest = guest(GuestState.GUEST_STATE_RUNNING);
        return Promise.reject(new AgentCallError('kvm-1', 'MigrateGuest', status.ABORTED, 'already migrating'));
      },
    ];
    expect(await migrate(t.job, t.deps, t.ctx)).toMatchObject({ result: 'done', recovered: true });
    expect(t.agents['kvm-1'].calls).toEqual(['migrateGuest', 'migrateGuest']);
  });

  it('no free slot → SlotUnavailableError (the worker delays the job); nothing written', async () => {
    const t = await setup(false);
    await expect(migrate(t.job, t.deps, t.ctx)).rejects.toBeInstanceOf(SlotUnavailableError);
    expect((await t.migrations.get('m', 'a'))?.status?.phase).toBe('PreparingTarget');
  });

  it('a deleted DesktopMigration is aborted: Aborted, the desktop stays on the source', async () => {
    const t = await setup();
    t.agents['kvm-1'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    const m = (await t.migrations.get('m', 'a'))!;
    await t.migrations.update({ ...m, metadata: { ...m.metadata, finalizers: ['deskplane.io/migration-abort'] } });
    await t.migrations.delete('m', 'a');
    t.agents['kvm-1'].migrateScript = [() => Promise.resolve({ phase: MigrationPhase.MIGRATION_PHASE_ABORTED, message: 'aborted' } as MigrationProgress)];
    expect(await migrate(t.job, t.deps, t.ctx)).toMatchObject({ result: 'done', aborted: true });
    expect(t.agents['kvm-1'].calls).toContain('abortMigration');
    expect((await t.desktops.get('vd', 'a'))?.status).toMatchObject({ phase: 'Running', host: 'kvm-1' });
    expect(await t.migrations.get('m', 'a')).toBeUndefined(); // finalizer removed → gone
  });

  it('a DesktopMigration deleted before it started never starts (no MigrateGuest), the desktop stays put', async () => {
    const t = await setup();
    t.agents['kvm-1'].guest = guest(GuestState.GUEST_STATE_RUNNING);
    await t.migrations.delete('m', 'a'); // no finalizer yet: gone at once
    expect(await migrate(t.job, t.deps, t.ctx)).toMatchObject({ result: 'skipped' });
    expect(t.agents['kvm-1'].calls).not.toContain('migrateGuest');
    expect((await t.desktops.get('vd', 'a'))?.status).toMatchObject({ phase: 'Running', host: 'kvm-1' });
  });
});
