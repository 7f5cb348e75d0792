import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeSpiceLink } from '../../../../testbed/src/probes/spice';
import { LibvirtDriver } from '../../src/driver/libvirt-driver';
import { decodePng, distinctPixels } from '../../src/driver/png';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, UnavailableError } from '../../src/errors';
import { testbedHosts, type TestbedHosts } from '../support/testbed-hosts';
import { serialLogOf, testGuest, timing, waitForTicks } from './helpers';

const virsh = (uri: string, ...args: string[]): string => execFileSync('virsh', ['-q', '-c', uri, ...args], { encoding: 'utf8' }).trim();
const domainNames = (uri: string): string[] => virsh(uri, 'list', '--all', '--name').split('\n').filter(Boolean);

let tb: TestbedHosts;
let driver: LibvirtDriver;
let uri: string;
const uids: string[] = [];
const foreign: string[] = [];

beforeAll(() => {
  tb = testbedHosts();
  const { config } = tb.hosts[0]!;
  uri = config.libvirtUri;
  driver = new LibvirtDriver(config);
});

afterEach(async () => {
  for (const uid of uids.splice(0)) await driver.deleteGuest(uid).catch(() => undefined);
  for (const name of foreign.splice(0)) {
    try {
      virsh(uri, 'undefine', name);
    } catch {
      /* already gone */
    }
  }
});

afterAll(async () => {
  const t = driver?.callTimings();
  if (t) console.log(`[host-agent driver] virsh latency medians (ms): ${JSON.stringify(t)}`);
  await driver?.close();
  await tb?.cleanup();
});

describe('LibvirtDriver on a real libvirtd (testbed host-1)', () => {
  it('reports the node: its own hostname, TCG, versions and disk', async () => {
    const n = await driver.nodeInfo();
    expect(n.hostname).toBe(tb.hosts[0]!.host.hostname);
    expect(n.hypervisor).toBe('qemu-tcg');
    expect(n.cpus).toBeGreaterThan(0);
    expect(n.memoryBytes).toBeGreaterThan(0n);
    expect(n.diskFreeBytes).toBeGreaterThan(0n);
    expect(n.diskCapacityBytes).toBeGreaterThanOrEqual(n.diskFreeBytes);
    expect(n.libvirtVersion).toMatch(/^\d+\.\d+/);
    expect(n.qemuVersion).toMatch(/^\d+\.\d+/);
    expect(await driver.domainType()).toBe('qemu');
    const images = await driver.listGoldenImages();
    expect(images.map((i) => i.name)).toEqual(['busybox']);
    expect(images[0]!.boot?.kernel).toBe(tb.state.guestImage!.kernel);
    expect(images[0]!.virtualSizeBytes).toBeGreaterThan(0n);
  });

  it('runs a guest through its whole life; every step twice is harmless', async () => {
    const def = testGuest();
    uids.push(def.desktopUid);
    const name = `dp-${def.desktopUid}`;

    let t0 = performance.now();
    const created = await driver.ensureGuest(def);
    timing('ensureGuest (overlay + define)', performance.now() - t0);
    expect(created).toMatchObject({ desktopUid: def.desktopUid, domainName: name, state: 'defined', vcpus: 1, goldenImage: 'busybox' });
    expect(created.memoryBytes).toBe(def.memoryBytes);
    expect(existsSync(created.diskPath)).toBe(true);
    const xmlBefore = virsh(uri, 'dumpxml', '--inactive', '--security-info', name);
    expect(await driver.ensureGuest(def)).toEqual(created);
    expect(virsh(uri, 'dumpxml', '--inactive', '--security-info', name)).toBe(xmlBefore);
    expect(xmlBefore).toContain(`<title>driver test &lt;&amp;&gt; desk</title>`);

    t0 = performance.now();
    const started = await driver.startGuest(def.desktopUid);
    timing('startGuest', performance.now() - t0);
    expect(started.state).toBe('running');
    expect(started.spicePort).toBeGreaterThan(0);
    expect((await driver.startGuest(def.desktopUid)).state).toBe('running');
    expect((await driver.listGuests()).map((g) => g.desktopUid)).toContain(def.desktopUid);
    await waitForTicks(serialLogOf(tb.storageDir, def.desktopUid), 0, 90_000);

    const spice = { host: tb.hosts[0]!.config.consoleAddress, port: started.spicePort, timeoutMs: 10_000 };
    expect((await probeSpiceLink({ ...spice, password: def.spice.password })).result).toBe(0);
    const rotated = `${def.spice.password}-2`;
    t0 = performance.now();
    await driver.setConsolePassword(def.desktopUid, rotated);
    timing('setConsolePassword (live + config)', performance.now() - t0);
    await driver.setConsolePassword(def.desktopUid, rotated);
    expect((await probeSpiceLink({ ...spice, password: def.spice.password })).result).toBe(7);
    expect((await probeSpiceLink({ ...spice, password: rotated })).result).toBe(0);
    expect(virsh(uri, 'dumpxml', '--inactive', '--security-info', name)).toContain(`passwd='${rotated}'`);

    t0 = performance.now();
    const shot = await driver.screenshot(def.desktopUid);
    timing('screenshot', performance.now() - t0);
    const img = decodePng(shot.png);
    expect([img.width, img.height]).toEqual([shot.width, shot.height]);
    expect(shot.width).toBeGreaterThan(0);
    expect(distinctPixels(img)).toBeGreaterThan(1);

    t0 = performance.now();
    const stopped = await driver.stopGuest(def.desktopUid, 3_000); // busybox ignores ACPI: forced off
    timing('stopGuest (3 s ACPI wait, then destroy)', performance.now() - t0);
    expect(stopped.state).toBe('shutoff');
    expect(stopped.stateReason).toBe('destroyed');
    expect(stopped.spicePort).toBe(0);
    expect((await driver.stopGuest(def.desktopUid, 3_000)).state).toBe('shutoff');
    await expect(driver.screenshot(def.desktopUid)).rejects.toBeInstanceOf(FailedPreconditionError);

    t0 = performance.now();
    expect(await driver.deleteGuest(def.desktopUid)).toBe(true);
    timing('deleteGuest', performance.now() - t0);
    expect(await driver.deleteGuest(def.desktopUid)).toBe(false);
    expect(domainNames(uri)).not.toContain(name);
    expect(existsSync(created.diskPath)).toBe(false);
    expect(existsSync(serialLogOf(tb.storageDir, def.desktopUid))).toBe(false);
    await expect(driver.getGuest(def.desktopUid)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('redefines a guest whose definition changed, effective at next boot', async () => {
    const def = testGuest();
    uids.push(def.desktopUid);
    await driver.ensureGuest(def);
    const changed = { ...def, vcpus: 2, displayName: 'renamed', spice: { ...def.spice, imageCompression: 'quic' as const } };
    const info = await driver.ensureGuest(changed);
    expect(info.vcpus).toBe(2);
    const xml = virsh(uri, 'dumpxml', '--inactive', `dp-${def.desktopUid}`);
    expect(xml).toContain('<title>renamed</title>');
    expect(xml).toContain(`<image compression='quic'/>`);
  });

  it('refuses an unknown golden image, naming the known ones, and creates nothing', async () => {
    const def = testGuest({ goldenImage: 'win11' });
    uids.push(def.desktopUid);
    const err = await driver.ensureGuest(def).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toMatch(/golden image 'win11' is not on .*known: busybox/);
    expect(domainNames(uri)).not.toContain(`dp-${def.desktopUid}`);
    expect(existsSync(join(tb.storageDir, `dp-${def.desktopUid}.qcow2`))).toBe(false);
  });

  it('refuses a foreign domain with our name and leaves it untouched', async () => {
    const def = testGuest();
    const name = `dp-${def.desktopUid}`;
    foreign.push(name);
    const file = join(tb.storageDir, `${name}.foreign.xml`);
    writeFileSync(file, `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
    virsh(uri, 'define', file);
    rmSync(file);
    const before = virsh(uri, 'dumpxml', '--inactive', name);
    const err = await driver.ensureGuest(def).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlreadyExistsError);
    expect((err as Error).message).toContain(name);
    expect(virsh(uri, 'dumpxml', '--inactive', name)).toBe(before);
    expect(existsSync(join(tb.storageDir, `${name}.qcow2`))).toBe(false);
    await expect(driver.getGuest(def.desktopUid)).rejects.toBeInstanceOf(NotFoundError);
    await expect(driver.deleteGuest(def.desktopUid)).rejects.toBeInstanceOf(FailedPreconditionError);
    expect((await driver.listGuests()).map((g) => g.desktopUid)).not.toContain(def.desktopUid);
    expect(virsh(uri, 'dumpxml', '--inactive', name)).toBe(before);
  });

  it('says NotFound for a guest that is not there', async () => {
    const def = testGuest();
    await expect(driver.startGuest(def.desktopUid)).rejects.toBeInstanceOf(NotFoundError);
    await expect(driver.setConsolePassword(def.desktopUid, 'x')).rejects.toBeInstanceOf(NotFoundError);
    expect(await driver.deleteGuest(def.desktopUid)).toBe(false);
  });

  it('names libvirtd and the URI when it cannot be reached', async () => {
    const missing = `qemu+unix:///system?socket=${tb.storageDir}/no-such.sock`;
    const d = new LibvirtDriver({ ...tb.hosts[0]!.config, libvirtUri: missing, domainType: 'qemu' });
    const err = await d.getGuest(testGuest().desktopUid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain(`libvirtd at ${missing} is not reachable`);
    await d.close();
  });
});
