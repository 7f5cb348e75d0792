import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { AbortedError, AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors';
import { createLogger } from '../log';
import { startHostAgent, type RunningHostAgent } from '../server';
import { decodePng, distinctPixels, PNG_SIGNATURE } from './png';
import { MEASURED_LATENCIES, SimulatedDriver, SimulatedFabric } from './simulated-driver';
import type { DomainEvent, GuestDefinition, MigrationOptions } from './types';

// The SIMULATED driver (scale benchmarks only): same contract and error semantics as the
// real LibvirtDriver, in memory, with latencies. Most cases run with zero latency.

const MiB = 1024n * 1024n;
const UID = '33333333-3333-4333-8333-333333333333';
const def = (over: Partial<GuestDefinition> = {}): GuestDefinition => ({
  desktopUid: UID,
  displayName: 'ns/vd',
  vcpus: 1,
  memoryBytes: 256n * MiB,
  diskBytes: 2048n * MiB,
  goldenImage: 'busybox',
  spice: { password: 'pw-1', imageCompression: 'auto_glz', streamingMode: 'filter' },
  ...over,
});
const migration = (destinationUri: string): MigrationOptions => ({
  destinationUri,
  destinationAddress: '127.0.0.2',
  bandwidthMiBps: 0,
  autoConverge: false,
  postCopy: false,
  postCopyAfterSeconds: 0,
  completionTimeoutSeconds: 0,
  maxDowntimeMs: 0,
});

const drivers: SimulatedDriver[] = [];
const sim = (o: ConstructorParameters<typeof SimulatedDriver>[0]): SimulatedDriver => {
  const d = new SimulatedDriver(o);
  drivers.push(d);
  return d;
};
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

describe('SimulatedDriver (simulated hypervisor, scale benchmarks only)', () => {
  it('labels itself: qemu-tcg, hostname sim-<name>, libvirt/qemu version "simulated", URI sim://<name>', async () => {
    const d = sim({ name: 'a', latencies: 'zero' });
    const n = await d.nodeInfo();
    expect(n).toMatchObject({ hostname: 'sim-a', hypervisor: 'qemu-tcg', libvirtVersion: 'simulated', qemuVersion: 'simulated' });
    expect(n.cpus).toBeGreaterThanOrEqual(64);
    expect(d.uri).toBe('sim://a');
    expect((await d.listGoldenImages()).map((i) => i.name)).toEqual(['busybox']);
  });

  it('walks ensure → start → stop → delete idempotently, with events', async () => {
    const d = sim({ name: 'a', latencies: 'zero', bootMs: 0, acpiShutdownMs: 5 });
    const events: DomainEvent[] = [];
    const sub = d.watchEvents((e) => events.push(e));
    const made = await d.ensureGuest(def());
    expect(made).toMatchObject({ desktopUid: UID, domainName: `dp-${UID}`, state: 'shutoff', spicePort: 0, vcpus: 1, memoryBytes: 256n * MiB, goldenImage: 'busybox' });
    expect(await d.ensureGuest(def())).toEqual(made);
    const up = await d.startGuest(UID);
    expect(up).toMatchObject({ state: 'running', stateReason: 'booted' });
    expect(up.spicePort).toBeGreaterThan(0);
    expect(await d.startGuest(UID)).toEqual(up);
    expect((await d.listGuests()).map((g) => g.desktopUid)).toEqual([UID]);
    expect(await d.stopGuest(UID, 1_000)).toMatchObject({ state: 'shutoff', stateReason: 'shutdown', spicePort: 0 });
    expect(await d.stopGuest(UID, 1_000)).toMatchObject({ state: 'shutoff' });
    expect(await d.deleteGuest(UID)).toBe(true);
    expect(await d.deleteGuest(UID)).toBe(false);
    expect(await d.listGuests()).toEqual([]);
    expect(events.map((e) => `${e.type} ${e.detail}`)).toEqual(['started Started Booted', 'stopped Stopped Shutdown']);
    sub.close();
  });

  it('a guest still booting ignores ACPI: stop forces it off after the timeout', async () => {
    const d = sim({ name: 'a', latencies: 'zero', bootMs: 60_000 });
    await d.ensureGuest(def());
    await d.startGuest(UID);
    const t0 = Date.now();
    expect(await d.stopGuest(UID, 50)).toMatchObject({ state: 'shutoff', stateReason: 'destroyed' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('has the real driver\'s error semantics', async () => {
    const d = sim({ name: 'a', latencies: 'zero' });
    await expect(d.getGuest(UID)).rejects.toBeInstanceOf(NotFoundError);
    await expect(d.startGuest(UID)).rejects.toBeInstanceOf(NotFoundError);
    await expect(d.stopGuest(UID, 10)).rejects.toBeInstanceOf(NotFoundError);
    await expect(d.setConsolePassword(UID, 'x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(d.ensureGuest(def({ goldenImage: 'win11' }))).rejects.toThrow(FailedPreconditionError);
    await expect(d.ensureGuest(def({ goldenImage: 'win11' }))).rejects.toThrow(/golden image 'win11' is not on host a .*known: busybox/);
    await expect(d.ensureGuest(def({ diskBytes: MiB }))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await d.listGuests()).toEqual([]); // nothing left behind by a failed ensure
    d.addForeignDomain(`dp-${UID}`);
    await expect(d.ensureGuest(def())).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(d.deleteGuest(UID)).rejects.toBeInstanceOf(FailedPreconditionError);
    const other = '44444444-4444-4444-8444-444444444444';
    await d.ensureGuest(def({ desktopUid: other }));
    await expect(d.screenshot(other)).rejects.toThrow(/only a running guest has a screen/);
    await expect(d.migrateGuest(other, migration('sim://b'), () => undefined)).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(d.setMigrationBandwidth(other, 10)).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(await d.abortMigration(other)).toBe(false);
  });

  it('crash() stops the guest with a crashed event; screenshots are PNGs, blank until booted', async () => {
    const d = sim({ name: 'a', latencies: 'zero', bootMs: 30 });
    const events: DomainEvent[] = [];
    d.watchEvents((e) => events.push(e));
    await d.ensureGuest(def());
    await d.startGuest(UID);
    const booting = await d.screenshot(UID);
    expect(booting.png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(distinctPixels(decodePng(booting.png))).toBe(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(distinctPixels(decodePng((await d.screenshot(UID)).png))).toBeGreaterThan(1);
    d.crash(UID);
    expect(await d.getGuest(UID)).toMatchObject({ state: 'shutoff', stateReason: 'crashed' });
    expect(events.at(-1)).toMatchObject({ type: 'crashed', detail: 'Stopped Failed' });
  });

  it('migrates between hosts of one fabric with progress; refuses a second migration and a self-migration; abort keeps it here', async () => {
    const fabric = new SimulatedFabric();
    const a = sim({ name: 'a', latencies: { ...zeroed(), migrate: 1_200 }, fabric });
    const b = sim({ name: 'b', latencies: 'zero', fabric, firstSpicePort: 6900 });
    const inB: DomainEvent[] = [];
    b.watchEvents((e) => inB.push(e));
    await a.ensureGuest(def());
    await a.startGuest(UID);
    await expect(a.migrateGuest(UID, migration('sim://a'), () => undefined)).rejects.toThrow(/already runs on/);
    const progress: number[] = [];
    const running = a.migrateGuest(UID, migration('sim://b'), (s) => progress.push(Number(s.bytesProcessed)));
    await new Promise((r) => setTimeout(r, 20));
    await expect(a.migrateGuest(UID, migration('sim://b'), () => undefined)).rejects.toBeInstanceOf(AbortedError);
    expect((await a.setMigrationBandwidth(UID, 50)).bandwidthMiBps).toBe(50);
    const final = await running;
    expect(final).toMatchObject({ phase: 'succeeded', bytesRemaining: 0n, bandwidthMiBps: 50 });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    await expect(a.getGuest(UID)).rejects.toBeInstanceOf(NotFoundError);
    expect(await b.getGuest(UID)).toMatchObject({ state: 'running', spicePort: 6900, stateReason: 'migrated' });
    expect(inB.map((e) => e.type)).toEqual(['migrated_in']);

    const back = b.migrateGuest(UID, migration('sim://nowhere'), () => undefined);
    expect((await back).phase).toBe('failed');
    const c = sim({ name: 'c', latencies: { ...zeroed(), migrate: 5_000 }, fabric });
    await c.ensureGuest(def({ desktopUid: '55555555-5555-4555-8555-555555555555' }));
    await c.startGuest('55555555-5555-4555-8555-555555555555');
    const slow = c.migrateGuest('55555555-5555-4555-8555-555555555555', migration('sim://a'), () => undefined);
    await new Promise((r) => setTimeout(r, 20));
    expect(await c.abortMigration('55555555-5555-4555-8555-555555555555')).toBe(true);
    expect((await slow).phase).toBe('aborted');
    expect(await c.getGuest('55555555-5555-4555-8555-555555555555')).toMatchObject({ state: 'running' });
  });

  it('takes its configured latency (defaults: the real driver\'s medians)', async () => {
    expect(MEASURED_LATENCIES).toMatchObject({ ensureGuest: 124, startGuest: 426, getGuest: 36, deleteGuest: 61 });
    const d = sim({ name: 'a', latencies: { ...zeroed(), startGuest: 60 } });
    await d.ensureGuest(def());
    const t0 = Date.now();
    await d.startGuest(UID);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    expect(d.calls).toMatchObject({ ensureGuest: 1, startGuest: 1 });
  });
});

describe('a host agent over the SimulatedDriver (gRPC)', () => {
  let agent: RunningHostAgent | undefined;
  let client: hostAgent.HostAgentClient | undefined;
  afterEach(async () => {
    client?.close();
    await agent?.close();
  });
  const call = <T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> =>
    new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));

  it('serves HostInfo labelled simulated, and the guest calls with the same gRPC codes', async () => {
    const d = sim({ name: 'h1', latencies: 'zero' });
    const config = parseConfig({}, { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: '127.0.0.1', DESKPLANE_HOST_AGENT_LISTEN: '127.0.0.1:0', DESKPLANE_HOST_AGENT_METRICS_LISTEN: 'off' });
    agent = await startHostAgent(config, d, { log: createLogger({ level: 'silent' }) });
    client = new hostAgent.HostAgentClient(`127.0.0.1:${agent.port}`, credentials.createInsecure());
    const c = client;
    const info = await call<hostAgent.HostInfo>((cb) => c.getHostInfo({}, cb));
    expect(info).toMatchObject({ hostname: 'sim-h1', hypervisor: hostAgent.Hypervisor.HYPERVISOR_QEMU_TCG, libvirtVersion: 'simulated', goldenImages: ['busybox'] });
    expect(info.capacity!.vcpus).toBeGreaterThanOrEqual(256);
    const spec: hostAgent.GuestSpec = { desktopUid: UID, displayName: 'ns/vd', vcpus: 1, memoryBytes: 256n * MiB, diskBytes: 2048n * MiB, goldenImage: 'busybox', spice: { password: 'pw-1', imageCompression: 0, streamingMode: 0 } };
    await call((cb) => c.ensureGuest({ spec }, cb));
    const g = await call<hostAgent.Guest>((cb) => c.startGuest({ desktopUid: UID }, cb));
    expect(g).toMatchObject({ state: hostAgent.GuestState.GUEST_STATE_RUNNING, consoleAddress: '127.0.0.1' });
    const bad = await call((cb) => c.ensureGuest({ spec: { ...spec, desktopUid: '66666666-6666-4666-8666-666666666666', goldenImage: 'win11' } }, cb)).catch((e: ServiceError) => e);
    expect((bad as ServiceError).code).toBe(status.FAILED_PRECONDITION);
    const missing = await call((cb) => c.getGuest({ desktopUid: '77777777-7777-4777-8777-777777777777' }, cb)).catch((e: ServiceError) => e);
    expect((missing as ServiceError).code).toBe(status.NOT_FOUND);
    expect(await call<hostAgent.DeleteGuestResponse>((cb) => c.deleteGuest({ desktopUid: UID }, cb))).toEqual({ existed: true });
  });
});

function zeroed(): Record<keyof typeof MEASURED_LATENCIES, number> {
  return Object.fromEntries(Object.keys(MEASURED_LATENCIES).map((k) => [k, 0])) as Record<keyof typeof MEASURED_LATENCIES, number>;
}
