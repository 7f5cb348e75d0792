import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LibvirtDriver } from '../../src/driver/libvirt-driver';
import type { DomainEvent } from '../../src/driver/types';
import { testbedHosts, type TestbedHosts } from '../support/testbed-hosts';
import { serialLogOf, testGuest, waitForTicks, waitUntil } from './helpers';

let tb: TestbedHosts;
let driver: LibvirtDriver;
const uids: string[] = [];

/** This process's `virsh event` children for the host (other test runs may watch it too). */
function eventProcesses(uri: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid === process.pid && cmd[0]?.endsWith('virsh') && cmd.includes(uri) && cmd.includes('event')) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

beforeAll(() => {
  tb = testbedHosts();
  driver = new LibvirtDriver(tb.hosts[0]!.config);
});

afterEach(async () => {
  for (const uid of uids.splice(0)) await driver.deleteGuest(uid).catch(() => undefined);
});

afterAll(async () => {
  await driver?.close();
  await tb?.cleanup();
});

describe('libvirt lifecycle events (LibvirtDriver.watchEvents)', () => {
  it('reports started, stopped and — for a QEMU killed by pid — crashed; one virsh event child, restarted when it dies, gone on close', async () => {
    const uri = tb.hosts[0]!.config.libvirtUri;
    const ours = (): number[] => eventProcesses(uri);
    expect(ours()).toHaveLength(0);
    const got: DomainEvent[] = [];
    const other: DomainEvent[] = [];
    const sub = driver.watchEvents((e) => got.push(e));
    const sub2 = driver.watchEvents((e) => other.push(e));
    expect(ours()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500)); // let virsh register for events

    const def = testGuest();
    uids.push(def.desktopUid);
    const mine = (): DomainEvent[] => got.filter((e) => e.desktopUid === def.desktopUid);
    const has = (type: DomainEvent['type'], detail: string) => (): true | undefined =>
      mine().some((e) => e.type === type && e.detail === detail) ? true : undefined;

    await driver.ensureGuest(def);
    await driver.startGuest(def.desktopUid);
    await waitUntil('a started event', has('started', 'Started Booted'), 10_000);
    const ev = mine()[0]!;
    expect(ev.domainName).toBe(`dp-${def.desktopUid}`);
    expect(Math.abs(ev.time.getTime() - Date.now())).toBeLessThan(60_000);

    await driver.stopGuest(def.desktopUid, 1_000);
    await waitUntil('a stopped event', has('stopped', 'Stopped Destroyed'), 10_000);

    await driver.startGuest(def.desktopUid);
    await waitForTicks(serialLogOf(tb.storageDir, def.desktopUid), 0, 90_000);
    // The host's /run/libvirt is a bind mount of <root>/run, so QEMU's pid file is visible here.
    const pidFile = join(tb.hosts[0]!.host.root, 'run', 'qemu', `dp-${def.desktopUid}.pid`);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(`guest=dp-${def.desktopUid}`);
    process.kill(pid, 'SIGKILL');
    await waitUntil('a crashed event', has('crashed', 'Stopped Failed'), 10_000);
    const info = await driver.getGuest(def.desktopUid);
    expect(info.state).toBe('crashed');
    expect(info.stateReason).toBe('crashed');

    expect(mine().map((e) => e.type)).toEqual(['started', 'stopped', 'started', 'crashed']);

    // The stream comes back by itself when its virsh dies (as it does when libvirtd restarts).
    const [first] = ours();
    process.kill(first!, 'SIGKILL');
    await waitUntil('a new virsh event child', () => (ours().length === 1 && ours()[0] !== first ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    await driver.startGuest(def.desktopUid);
    await waitUntil('a started event after the reconnect', () => (mine().filter((e) => e.type === 'started').length === 3 ? true : undefined), 10_000);

    sub.close();
    expect(ours()).toHaveLength(1); // still one subscriber
    expect(other.filter((e) => e.desktopUid === def.desktopUid).length).toBe(mine().length);
    sub2.close();
    await waitUntil('the virsh event child to exit', () => (ours().length === 0 ? true : undefined), 5_000);
  });
});
