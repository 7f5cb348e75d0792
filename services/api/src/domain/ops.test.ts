import { beforeEach, describe, expect, it } from 'vitest';
import { retryOnConflict, type EmbeddedStore } from '@deskplane/resource-store';
import { MemoryAuditLog } from './audit';
import { Ops } from './ops';
import { clients } from './resources';
import { addDesktop, addHost, addTemplate, caller, newStore, setPhase } from './test-fixtures';

const ops = caller('olga', 'ops', 'platform-ops');

let store: EmbeddedStore;
let audit: MemoryAuditLog;
let o: Ops;

beforeEach(async () => {
  store = newStore();
  audit = new MemoryAuditLog();
  o = new Ops({ store, auditLog: audit, audit });
  await addHost(store, 'kvm-host-1');
  await addHost(store, 'kvm-host-2');
  await addTemplate(store, 'team-a', 'small', 2, '2Gi');
  await addDesktop(store, 'team-a', 'a1', 'alice', 'small');
  await addDesktop(store, 'team-b', 'b1', 'bob', 'small');
  await setPhase(store, 'team-a', 'a1', 'Running', 'kvm-host-1');
  await setPhase(store, 'team-b', 'b1', 'Running', 'kvm-host-1');
  await addDesktop(store, 'team-a', 'unplaced', 'alice', 'small');
});

describe('hosts', () => {
  it('shows capacity, allocations, guest counts and the desktops placed there', async () => {
    await retryOnConflict(clients(store).hosts, 'kvm-host-1', undefined, (h) => ({
      ...h,
      status: {
        capacity: { vcpus: 8, memory: '32Gi' },
        allocatable: { vcpus: 32, memory: '30Gi' },
        allocated: { vcpus: 4, memory: '4Gi' },
        guestCount: 2,
        conditions: [{ type: 'Ready', status: 'True' as const, reason: 'AgentReady', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' }],
      },
    }), { status: true });
    const [h1, h2] = await o.hosts(ops);
    expect(h1).toMatchObject({ name: 'kvm-host-1', ready: true, schedulable: true, maintenance: false, guestCount: 2, desktops: 2, allocated: { vcpus: 4, memory: '4Gi' }, agentEndpoint: 'kvm-host-1:7443' });
    expect(h2).toMatchObject({ name: 'kvm-host-2', ready: false, desktops: 0 });
  });

  it('drains and undrains through spec.maintenance, audited; a missing host is 404', async () => {
    expect(await o.drain(ops, 'kvm-host-1')).toMatchObject({ maintenance: true });
    expect((await clients(store).hosts.get('kvm-host-1'))?.spec.maintenance).toBe(true);
    expect(await o.undrain(ops, 'kvm-host-1')).toMatchObject({ maintenance: false });
    expect((await audit.query({ limit: 5 })).map((e) => e.action)).toEqual(['host.undrain', 'host.drain']);
    await expect(o.drain(ops, 'kvm-host-9')).rejects.toMatchObject({ status: 404 });
  });
});

describe('migrations', () => {
  it('starts one as a DesktopMigration in the desktop namespace, lists it with progress', async () => {
    const m = await o.startMigration(ops, { tenant: 'team-a', desktop: 'a1', targetHost: 'kvm-host-2', policy: { bandwidthMiBps: 50 } });
    expect(m).toMatchObject({ tenant: 'team-a', desktop: 'a1', targetHost: 'kvm-host-2', phase: 'Pending', aborting: false });
    expect(m.name).toMatch(/^a1-mig-[0-9a-f]{6}$/);
    await retryOnConflict(clients(store).migrations, m.name, 'team-a', (x) => ({ ...x, status: { phase: 'Migrating' as const, sourceHost: 'kvm-host-1', targetHost: 'kvm-host-2', progressPercent: 40, bytesProcessed: 400, bytesRemaining: 600 } }), { status: true });
    expect(await o.migrations(ops, { tenant: 'team-a' })).toEqual([expect.objectContaining({ name: m.name, phase: 'Migrating', progressPercent: 40, sourceHost: 'kvm-host-1' })]);
    expect(await o.migrations(ops, { tenant: 'team-b' })).toEqual([]);
    await expect(o.startMigration(ops, { tenant: 'team-a', desktop: 'a1' })).rejects.toMatchObject({ status: 409, message: expect.stringContaining('already being migrated') as string });
  });

  it.each([
    [{ tenant: 'Team A', desktop: 'a1' }, 400, 'tenant'],
    [{ tenant: 'team-a', desktop: '' }, 400, 'desktop'],
    [{ tenant: 'team-a', desktop: 'a1', targetHost: 'no-such-host' }, 400, 'targetHost'],
    [{ tenant: 'team-a', desktop: 'a1', targetHost: 'kvm-host-1' }, 400, 'targetHost'],
    [{ tenant: 'team-a', desktop: 'a1', policy: { bandwidthMiBps: 0 } }, 400, 'policy.bandwidthMiBps'],
    [{ tenant: 'team-a', desktop: 'a1', policy: { turbo: true } }, 400, 'policy.turbo'],
    [{ tenant: 'team-a', desktop: 'nope' }, 404, undefined],
    [{ tenant: 'team-a', desktop: 'unplaced' }, 409, undefined],
  ])('refuses %j with %i (field %s), creating nothing', async (input, code, field) => {
    const err = await o.startMigration(ops, input).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: code, ...(field ? { field } : {}) });
    expect((await clients(store).migrations.list()).items).toHaveLength(0);
  });

  it('abort deletes a waiting migration at once and marks a running one as aborting', async () => {
    const waiting = await o.startMigration(ops, { tenant: 'team-a', desktop: 'a1' });
    expect(await o.abortMigration(ops, 'team-a', waiting.name)).toMatchObject({ aborting: false });
    expect(await clients(store).migrations.get(waiting.name, 'team-a')).toBeUndefined();
    const running = await o.startMigration(ops, { tenant: 'team-b', desktop: 'b1' });
    // The operator's abort finalizer, and the orchestrator's phase.
    await retryOnConflict(clients(store).migrations, running.name, 'team-b', (x) => ({ ...x, metadata: { ...x.metadata, finalizers: ['deskplane.io/migration-abort'] } }));
    await retryOnConflict(clients(store).migrations, running.name, 'team-b', (x) => ({ ...x, status: { phase: 'Migrating' as const } }), { status: true });
    expect(await o.abortMigration(ops, 'team-b', running.name)).toMatchObject({ aborting: true, phase: 'Migrating' });
    await expect(o.abortMigration(ops, 'team-b', 'gone')).rejects.toMatchObject({ status: 404 });
  });
});

describe('queue statistics and audit', () => {
  it('are 503 when the server has no queue connection or audit log', async () => {
    const bare = new Ops({ store });
    await expect(bare.queueStats(ops)).rejects.toMatchObject({ status: 503 });
    await expect(bare.audit(ops)).rejects.toMatchObject({ status: 503 });
  });

  it('queries the audit log with filters, newest first, and checks limit and since', async () => {
    audit.record({ action: 'desktop.create', tenant: 'team-a', user: 'alice', desktop: 'team-a/a1', time: '2025-01-01T00:00:00.000Z' });
    audit.record({ action: 'desktop.delete', tenant: 'team-a', user: 'alice', desktop: 'team-a/a1', time: '2025-01-02T00:00:00.000Z' });
    audit.record({ action: 'desktop.create', tenant: 'team-b', user: 'bob', desktop: 'team-b/b1', time: '2025-01-03T00:00:00.000Z' });
    expect((await o.audit(ops, { tenant: 'team-a' })).map((e) => e.action)).toEqual(['desktop.delete', 'desktop.create']);
    expect((await o.audit(ops, { since: '2025-01-02T00:00:00Z' })).map((e) => e.user)).toEqual(['bob', 'alice']);
    expect((await o.audit(ops, { limit: 1 })).map((e) => e.user)).toEqual(['bob']);
    await expect(o.audit(ops, { limit: 0 })).rejects.toMatchObject({ status: 400, field: 'limit' });
    await expect(o.audit(ops, { limit: 1001 })).rejects.toMatchObject({ status: 400, field: 'limit' });
    await expect(o.audit(ops, { since: 'yesterday' })).rejects.toMatchObject({ status: 400, field: 'since' });
  });
});
