import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadState, type HostState, type TestbedState } from '@deskplane/testbed';
import type { DriverConfig } from '../../src/driver/types';

/** The golden image every test run gets: the testbed's busybox guest. */
export const TEST_GOLDEN_IMAGE = 'busybox';

export interface TestbedHost {
  host: HostState;
  /** A DriverConfig for this host: shared storage dir, the run's golden images dir. */
  config: DriverConfig;
}

export interface TestbedHosts {
  state: TestbedState;
  runId: string;
  hosts: TestbedHost[];
  /** `<stateDir>/golden-images/<runId>`: busybox.qcow2 (symlink) + busybox.boot.json. */
  goldenImagesDir: string;
  /** `<stateDir>/shared-storage/<runId>`: one dir every host sees at the same path. */
  storageDir: string;
  /**
   * Destroys and undefines every `dp-` domain, on every host, whose XML mentions this run's
   * storage dir, then removes both dirs. Never throws; safe to call twice.
   */
  cleanup(): Promise<void>;
}

/**
 * Driver configs for the testbed's hosts, for one test run. The dirs live under the
 * testbed's state dir (not /tmp): each libvirtd runs in its own mount namespace, and the
 * state dir is the part of the filesystem every host sees at the same path.
 */
export function testbedHosts(opts: { state?: TestbedState; runId?: string } = {}): TestbedHosts {
  const state = opts.state ?? loadState();
  const image = state.guestImage;
  if (!image) throw new Error(`testbed ${state.name} has no guest image; run "testbed up"`);
  if (state.hosts.length === 0) throw new Error(`testbed ${state.name} has no KVM hosts; run "testbed up --hosts 2"`);
  const runId = opts.runId ?? `run-${process.pid}-${randomBytes(3).toString('hex')}`;
  const goldenImagesDir = join(state.stateDir, 'golden-images', runId);
  const storageDir = join(state.stateDir, 'shared-storage', runId);
  mkdirSync(goldenImagesDir, { recursive: true });
  mkdirSync(storageDir, { recursive: true });
  rmSync(join(goldenImagesDir, `${TEST_GOLDEN_IMAGE}.qcow2`), { force: true });
  symlinkSync(image.goldenDisk, join(goldenImagesDir, `${TEST_GOLDEN_IMAGE}.qcow2`));
  writeFileSync(
    join(goldenImagesDir, `${TEST_GOLDEN_IMAGE}.boot.json`),
    JSON.stringify({ kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline }, null, 2) + '\n',
  );

  const hosts = state.hosts.map((host) => ({
    host,
    config: {
      libvirtUri: host.libvirtUri,
      consoleAddress: host.address,
      storageDir,
      goldenImagesDir,
      assumeSharedStorage: true,
    } satisfies DriverConfig,
  }));

  const cleanup = async (): Promise<void> => {
    for (const { host } of hosts) {
      const names = (await virsh(host.libvirtUri, ['list', '--all', '--name']).catch(() => '')).split('\n').map((s) => s.trim());
      for (const name of names.filter((n) => n.startsWith('dp-'))) {
        const xml = await virsh(host.libvirtUri, ['dumpxml', '--inactive', name]).catch(() => '');
        if (!xml.includes(storageDir)) continue;
        await virsh(host.libvirtUri, ['destroy', name]).catch(() => undefined);
        await virsh(host.libvirtUri, ['undefine', name]).catch(() => undefined);
      }
    }
    rmSync(storageDir, { recursive: true, force: true });
    rmSync(goldenImagesDir, { recursive: true, force: true });
  };

  return { state, runId, hosts, goldenImagesDir, storageDir, cleanup };
}

function virsh(uri: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-q', '-c', uri, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`virsh ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}
