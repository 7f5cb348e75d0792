import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkHost } from '../src/hosts';
import { probeSpiceLink } from '../src/probes/spice';
import type { HostState } from '../src/state';
import { loadState } from '../src/state-file';
import { virsh } from '../src/virsh';
import { defineAndStart, migrationXml, newGuest, removeGuest, serialLogFor, spiceEndpoint, ticks, waitForTicks, type TestGuest } from './support/guests';

const state = loadState();
const hosts = state.hosts;
const image = state.guestImage;

/** Guests of the running test; removed after each test whatever happened. */
const live: TestGuest[] = [];
const timing = (what: string, ms: number): void => console.log(`[hosts.smoke] ${what}: ${ms} ms`);

afterEach(async () => {
  for (const g of live.splice(0)) await removeGuest(hosts, g);
});

describe('simulated KVM hosts (real libvirtd + QEMU/TCG)', () => {
  it('the testbed has a guest image and at least two hosts', async () => {
    expect(image, 'testbed state has no guestImage').toBeDefined();
    expect(hosts.length).toBeGreaterThanOrEqual(2);
    for (const h of hosts) await checkHost(h);
    // Distinct identities are what let libvirt migrate between them at all.
    expect(new Set(hosts.map((h) => h.hostUuid)).size).toBe(hosts.length);
    expect(new Set(hosts.map((h) => h.hostname)).size).toBe(hosts.length);
  });

  it.each(hosts.map((h) => [h.name, h] as const))(
    '%s boots a guest whose counter runs and whose SPICE checks the password',
    async (_name, host) => {
      const g = newGuest(host);
      live.push(g);
      const t0 = Date.now();
      await defineAndStart(host, image!, g);
      const tStarted = Date.now();
      timing(`${host.name} define+start`, tStarted - t0);
      const [a, b] = await waitForTicks(serialLogFor(host, g.name), { timeoutMs: 90_000 });
      timing(`${host.name} start to counter advancing (tick ${a} -> ${b})`, Date.now() - tStarted);

      const spice = await spiceEndpoint(host.libvirtUri, g.name);
      expect(spice.host).toBe(host.address);
      const ok = await probeSpiceLink({ ...spice, password: g.password, timeoutMs: 10_000 });
      expect(ok.result).toBe(0);
      const denied = await probeSpiceLink({ ...spice, password: `${g.password}-wrong`, timeoutMs: 10_000 });
      expect(denied.result).toBe(7);

      const t1 = Date.now();
      await virsh(host.libvirtUri, ['destroy', g.name]);
      await virsh(host.libvirtUri, ['undefine', g.name]);
      timing(`${host.name} destroy+undefine`, Date.now() - t1);
      expect(await virsh(host.libvirtUri, ['list', '--all', '--name'])).not.toContain(g.name);
    },
  );

  it('live-migrates a running guest from host-1 to host-2 and the counter keeps going', async () => {
    const [src, dst] = hosts as [HostState, HostState];
    const g = newGuest(src);
    live.push(g);
    g.serialLogs.push(serialLogFor(dst, g.name));
    await defineAndStart(src, image!, g);
    const [, before] = await waitForTicks(serialLogFor(src, g.name), { timeoutMs: 90_000 });

    const xmlFile = join(src.imagesDir, `${g.name}.migrate.xml`);
    writeFileSync(xmlFile, await migrationXml(src, dst, g.name));
    const t0 = Date.now();
    try {
      // Peer-to-peer: host-1's libvirtd dials host-2's socket itself (the state dir is not
      // behind any private mount, so the path is the same in every namespace). --unsafe:
      // the disk really is shared (one file both hosts see), but it sits on local ext4 and
      // libvirt calls any local filesystem unshared.
      await virsh(
        src.libvirtUri,
        ['migrate', '--live', '--p2p', '--unsafe', '--persistent', '--undefinesource', '--xml', xmlFile,
          g.name, dst.libvirtUri, '--migrateuri', `tcp://${dst.address}`],
        120_000,
      );
    } finally {
      rmSync(xmlFile, { force: true });
    }
    timing('live migration host-1 -> host-2 (virsh migrate wall time)', Date.now() - t0);
    const job = await virsh(dst.libvirtUri, ['domjobinfo', '--completed', g.name]).catch((e: Error) => e.message);
    console.log(`[hosts.smoke] completed migration job on host-2:\n${job}`);

    expect(await virsh(dst.libvirtUri, ['domstate', g.name])).toBe('running');
    expect(await virsh(src.libvirtUri, ['list', '--all', '--name'])).not.toContain(g.name);
    const lastOnSource = Math.max(before, ...ticks(serialLogFor(src, g.name)));
    const [a, b] = await waitForTicks(serialLogFor(dst, g.name), { after: lastOnSource, timeoutMs: 30_000 });
    timing(`counter on host-2 after migration (tick ${lastOnSource} -> ${a} -> ${b})`, Date.now() - t0);
    // The guest kept its memory: it counts on from where it was, it did not reboot.
    expect(a).toBeGreaterThan(lastOnSource);
    expect(a - lastOnSource).toBeLessThan(30);

    // SPICE moved with it, on the destination's address, password intact.
    const spice = await spiceEndpoint(dst.libvirtUri, g.name);
    expect(spice.host).toBe(dst.address);
    expect((await probeSpiceLink({ ...spice, password: g.password, timeoutMs: 10_000 })).result).toBe(0);
  });
});

describe('checkHost failure paths', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  const host = (): HostState => hosts[0]!;
  const rejectsFast = async (h: HostState, re: RegExp): Promise<void> => {
    const t0 = Date.now();
    await expect(checkHost(h)).rejects.toThrow(re);
    expect(Date.now() - t0).toBeLessThan(6_000);
  };

  it('names libvirtd when its pid is dead', async () => {
    const dead: HostState = { ...host(), libvirtd: { ...host().libvirtd, pid: 2 ** 22 - 1 } };
    await rejectsFast(dead, /^libvirtd of host-1 is not available: pid \d+ is not running/);
  });

  it('names libvirtd when its socket is missing', async () => {
    const h: HostState = { ...host(), socket: `${host().socket}.missing` };
    await rejectsFast(h, /^libvirtd of host-1 is not available: socket .* is missing/);
  });

  it('gives up within seconds on a socket that accepts but never answers', async () => {
    const path = join(host().imagesDir, `silent-${process.pid}.sock`);
    rmSync(path, { force: true });
    const server = createServer(() => undefined); // accepts, never speaks
    servers.push(server);
    await new Promise<void>((r) => server.listen(path, r));
    const h: HostState = { ...host(), socket: path, libvirtUri: `qemu+unix:///system?socket=${path}` };
    await rejectsFast(h, /^libvirtd of host-1 is not available: does not answer/);
  });

  it('says there is no host when the state has none', async () => {
    await expect(checkHost(undefined)).rejects.toThrow(/^libvirtd is not available: no KVM host/);
  });
});
