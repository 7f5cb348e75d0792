import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSpiceLink } from '../../../testbed/src/probes/spice';
import { call, distinctPixels, domainNames, grpcError, listDir, serialLogOf, startAgent, stopAgent, virsh, waitForTicks, type AgentUnderTest } from './support/agents';
import { TEST_GOLDEN_IMAGE, testbedHosts, type TestbedHosts } from './support/testbed-hosts';

// The Done-when walk, through a real gRPC client, against the real LibvirtDriver on
// the testbed's host-1: ensure → start → SPICE link with the password → rotate (old 7, new
// 0) → screenshot → stop → delete, every step twice; then the bad specs, each leaving the
// host as it was.

const MiB = 1024n * 1024n;

const spec = (desktopUid: string, password: string, over: Partial<hostAgent.GuestSpec> = {}): hostAgent.GuestSpec => ({
  desktopUid,
  displayName: 'e2e walk',
  vcpus: 1,
  memoryBytes: 192n * MiB,
  diskBytes: 256n * MiB,
  goldenImage: TEST_GOLDEN_IMAGE,
  spice: {
    password,
    imageCompression: hostAgent.ImageCompression.IMAGE_COMPRESSION_AUTO_GLZ,
    streamingMode: hostAgent.StreamingMode.STREAMING_MODE_FILTER,
  },
  ...over,
});

describe('host agent e2e: guest lifecycle on a real libvirtd', () => {
  let tb: TestbedHosts;
  let a: AgentUnderTest;
  const uids: string[] = [];

  beforeAll(async () => {
    tb = testbedHosts();
    a = await startAgent(tb, tb.hosts[0]!);
  });

  afterAll(async () => {
    for (const uid of uids) await call(cb => a?.client.deleteGuest({ desktopUid: uid }, cb)).catch(() => undefined);
    await stopAgent(a);
    await tb?.cleanup();
  });

  it('GetHostInfo reports capacity, hypervisor, versions and addresses', async () => {
    const info = await call<hostAgent.HostInfo>(cb => a.client.getHostInfo({}, cb));
    expect(info.hypervisor).toBe(hostAgent.Hypervisor.HYPERVISOR_QEMU_TCG);
    expect(info.consoleAddress).toBe(a.host.address);
    expect(info.migrationUri).toBe(a.host.libvirtUri);
    expect(info.libvirtVersion).toMatch(/^\d+\.\d+/);
    expect(info.qemuVersion).toMatch(/^\d+\.\d+/);
    expect(info.goldenImages).toEqual([TEST_GOLDEN_IMAGE]);
    expect(info.capacity!.vcpus).toBeGreaterThan(0);
    expect(info.capacity!.memoryBytes).toBeGreaterThan(0n);
    expect(info.capacity!.diskBytes).toBeGreaterThan(0n);
    expect(info.allocated).toBeDefined();
  });

  it('walks ensure → start → SPICE → rotate → screenshot → stop → delete, each step twice', async () => {
    const uid = randomUUID();
    uids.push(uid);
    const password = randomBytes(12).toString('base64url');
    const c = a.client;
    const domain = `dp-${uid}`;

    // ensure ×2: same guest, defined, disk present
    const md = new Metadata();
    md.set('x-request-id', `e2e-${uid.slice(0, 8)}`);
    const e1 = await call<hostAgent.Guest>(cb => c.ensureGuest({ spec: spec(uid, password) }, md, cb));
    const e2 = await call<hostAgent.Guest>(cb => c.ensureGuest({ spec: spec(uid, password) }, cb));
    expect(e1).toMatchObject({ desktopUid: uid, domainName: domain, vcpus: 1, memoryBytes: 192n * MiB, goldenImage: TEST_GOLDEN_IMAGE, spicePort: 0 });
    expect([hostAgent.GuestState.GUEST_STATE_DEFINED, hostAgent.GuestState.GUEST_STATE_SHUTOFF]).toContain(e1.state);
    expect(e2).toEqual(e1);
    expect(existsSync(e1.diskPath)).toBe(true);
    expect(Buffer.from(hostAgent.Guest.encode(e1).finish()).toString('latin1')).not.toContain(password);
    const info = await call<hostAgent.HostInfo>(cb => c.getHostInfo({}, cb));
    expect(info.guestCount).toBeGreaterThanOrEqual(1);
    expect(info.allocated!.memoryBytes).toBeGreaterThanOrEqual(192n * MiB);

    // start ×2
    const s1 = await call<hostAgent.Guest>(cb => c.startGuest({ desktopUid: uid }, cb));
    const s2 = await call<hostAgent.Guest>(cb => c.startGuest({ desktopUid: uid }, cb));
    expect(s1.state).toBe(hostAgent.GuestState.GUEST_STATE_RUNNING);
    expect(s1.spicePort).toBeGreaterThan(0);
    expect(s1.consoleAddress).toBe(a.host.address);
    expect(s2).toMatchObject({ state: hostAgent.GuestState.GUEST_STATE_RUNNING, spicePort: s1.spicePort });
    const list = await call<hostAgent.ListGuestsResponse>(cb => c.listGuests({}, cb));
    expect(list.guests.map(g => g.desktopUid)).toContain(uid);

    // SPICE link with the generated password
    const endpoint = { host: s1.consoleAddress, port: s1.spicePort };
    expect((await probeSpiceLink({ ...endpoint, password })).result).toBe(0);

    // rotate ×2: the old password is refused (7), the new one links (0)
    const rotated = randomBytes(12).toString('base64url');
    await call(cb => c.setConsolePassword({ desktopUid: uid, password: rotated }, cb));
    const r2 = await call<hostAgent.Guest>(cb => c.setConsolePassword({ desktopUid: uid, password: rotated }, cb));
    expect(r2.state).toBe(hostAgent.GuestState.GUEST_STATE_RUNNING);
    expect((await probeSpiceLink({ ...endpoint, password })).result).toBe(7);
    expect((await probeSpiceLink({ ...endpoint, password: rotated })).result).toBe(0);

    // screenshot ×2: a PNG that is not one flat colour (the guest's console text)
    await waitForTicks(serialLogOf(a.storageDir, uid), 0, 60_000);
    for (let i = 0; i < 2; i++) {
      const shot = await call<hostAgent.ScreenshotResponse>(cb => c.screenshot({ desktopUid: uid }, cb));
      const decoded = distinctPixels(shot.png);
      expect(decoded).toMatchObject({ width: shot.width, height: shot.height });
      expect(shot.width).toBeGreaterThan(0);
      expect(decoded.distinct).toBeGreaterThan(1);
    }

    // stop ×2 (the busybox guest ignores ACPI: graceful, then forced after the timeout)
    const t1 = await call<hostAgent.Guest>(cb => c.stopGuest({ desktopUid: uid, timeoutSeconds: 3 }, cb));
    const t2 = await call<hostAgent.Guest>(cb => c.stopGuest({ desktopUid: uid, timeoutSeconds: 3 }, cb));
    expect(t1.state).toBe(hostAgent.GuestState.GUEST_STATE_SHUTOFF);
    expect(t1.spicePort).toBe(0);
    expect(t2.state).toBe(hostAgent.GuestState.GUEST_STATE_SHUTOFF);
    const shotOff = await grpcError(call(cb => c.screenshot({ desktopUid: uid }, cb)));
    expect(shotOff.code).toBe(status.FAILED_PRECONDITION);

    // delete ×2: no domain, no disk file, then NOT_FOUND
    expect(await call<hostAgent.DeleteGuestResponse>(cb => c.deleteGuest({ desktopUid: uid }, cb))).toEqual({ existed: true });
    expect(await call<hostAgent.DeleteGuestResponse>(cb => c.deleteGuest({ desktopUid: uid }, cb))).toEqual({ existed: false });
    expect(await domainNames(a.host.libvirtUri)).not.toContain(domain);
    expect(existsSync(e1.diskPath)).toBe(false);
    expect(listDir(a.storageDir).filter(f => f.includes(uid))).toEqual([]);
    const gone = await grpcError(call(cb => c.getGuest({ desktopUid: uid }, cb)));
    expect(gone.code).toBe(status.NOT_FOUND);
    const startGone = await grpcError(call(cb => c.startGuest({ desktopUid: uid }, cb)));
    expect(startGone.code).toBe(status.NOT_FOUND);
    expect(startGone.details).toContain(domain);
  });

  describe('bad requests change nothing on the host', () => {
    /** Runs the failing call and checks the domain list and storage dir are as before. */
    async function unchanged<T>(fn: () => Promise<T>): Promise<T> {
      const [domains, files] = [await domainNames(a.host.libvirtUri), listDir(a.storageDir)];
      const result = await fn();
      // Other suites may share the testbed: only domains that use this run's storage count.
      const added = (await domainNames(a.host.libvirtUri)).filter(n => !domains.includes(n));
      const ours = [];
      for (const n of added) if ((await virsh(a.host.libvirtUri, ['dumpxml', '--inactive', n]).catch(() => '')).includes(a.storageDir)) ours.push(n);
      expect(ours).toEqual([]);
      expect(listDir(a.storageDir)).toEqual(files);
      return result;
    }

    it('zero memory → INVALID_ARGUMENT naming the field', async () => {
      const uid = randomUUID();
      const err = await unchanged(() => grpcError(call(cb => a.client.ensureGuest({ spec: spec(uid, 'pw-123', { memoryBytes: 0n }) }, cb))));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toBe('spec.memory_bytes must be at least 64 MiB, got 0');
    });

    it('a password never comes back in an error', async () => {
      const secret = `s3cret-${randomBytes(4).toString('hex')}-${'x'.repeat(60)}`;
      const err = await unchanged(() => grpcError(call(cb => a.client.ensureGuest({ spec: spec(randomUUID(), secret) }, cb))));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).not.toContain('s3cret');
    });

    it('unknown golden image → FAILED_PRECONDITION listing the known ones', async () => {
      const err = await unchanged(() => grpcError(call(cb => a.client.ensureGuest({ spec: spec(randomUUID(), 'pw-123', { goldenImage: 'win11-nope' }) }, cb))));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain('win11-nope');
      expect(err.details).toContain(TEST_GOLDEN_IMAGE);
    });

    it('a foreign domain of the same name → ALREADY_EXISTS, and it is left alone', async () => {
      const uid = randomUUID();
      const name = `dp-${uid}`;
      const file = join(tb.storageDir, `foreign-${uid}.xml`);
      writeFileSync(
        file,
        `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>\n`,
      );
      try {
        await virsh(a.host.libvirtUri, ['define', file]);
        rmSync(file);
        const before = await virsh(a.host.libvirtUri, ['dumpxml', '--inactive', name]);
        const err = await unchanged(() => grpcError(call(cb => a.client.ensureGuest({ spec: spec(uid, 'pw-123') }, cb))));
        expect(err.code).toBe(status.ALREADY_EXISTS);
        expect(err.details).toContain(name);
        // Deskplane never deletes what it did not make, nor lists it.
        const del = await unchanged(() => grpcError(call(cb => a.client.deleteGuest({ desktopUid: uid }, cb))));
        expect(del.code).toBe(status.FAILED_PRECONDITION);
        expect((await call<hostAgent.ListGuestsResponse>(cb => a.client.listGuests({}, cb))).guests.map(g => g.desktopUid)).not.toContain(uid);
        expect(await virsh(a.host.libvirtUri, ['dumpxml', '--inactive', name])).toBe(before);
      } finally {
        rmSync(file, { force: true });
        await virsh(a.host.libvirtUri, ['undefine', name]).catch(() => undefined);
      }
    });

    it('a host out of memory → RESOURCE_EXHAUSTED saying what is short', async () => {
      const small = await startAgent(tb, tb.hosts[0]!, { capacity: { ...a.config.capacity, override: { memoryBytes: 256n * MiB } } });
      try {
        const err = await unchanged(() => grpcError(call(cb => small.client.ensureGuest({ spec: spec(randomUUID(), 'pw-123', { memoryBytes: 512n * MiB }) }, cb))));
        expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
        expect(err.details).toMatch(/^host-1 has 0\.\d GiB of 0\.3 GiB memory left; guest needs 0\.5 GiB/);
      } finally {
        await stopAgent(small);
      }
    });

    it('a malformed uid → INVALID_ARGUMENT on every guest call', async () => {
      for (const p of [
        () => call(cb => a.client.startGuest({ desktopUid: 'Not-A-UUID' }, cb)),
        () => call(cb => a.client.getGuest({ desktopUid: '' }, cb)),
        () => call(cb => a.client.deleteGuest({ desktopUid: '../../etc' }, cb)),
      ]) {
        expect((await unchanged(() => grpcError(p()))).code).toBe(status.INVALID_ARGUMENT);
      }
    });
  });

  it('serves /metrics and /healthz', async () => {
    const metrics = await (await fetch(`${a.agent.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/deskplane_host_agent_rpc_duration_seconds_count\{method="EnsureGuest",code="OK"\} \d+/);
    expect(metrics).toMatch(/deskplane_host_agent_capacity_memory_bytes \d+/);
    expect(metrics).toContain('deskplane_host_agent_guests{state="running"}');
    const health = await fetch(`${a.agent.metricsUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
