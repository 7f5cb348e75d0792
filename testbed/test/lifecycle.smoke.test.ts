import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHost } from '../src/hosts';
import { isRunning } from '../src/process';
import type { ProcessRef, TestbedState } from '../src/state';
import { down, status, up } from '../src/testbed';

// A second, throwaway testbed beside the shared one (own name, own state dir, hosts on
// 127.0.9.N) so that stopping and breaking it cannot disturb the other smoke tests.
const overrides = { name: `lifecycle-${randomBytes(3).toString('hex')}`, hosts: 1, hostSubnet: 9 };

function processRefs(s: TestbedState): ProcessRef[] {
  return [
    ...(s.redis ? [s.redis.process] : []),
    ...(s.kube ? [s.kube.etcd, s.kube.apiserver] : []),
    ...s.hosts.map((h) => h.libvirtd),
  ];
}

/** Every process whose command line, cwd or mounts mention the directory. */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(dir)) found.push(`pid ${pid}: ${cmdline}`);
      const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
      if (mounts.includes(dir)) found.push(`pid ${pid} has a mount under ${dir}`);
    } catch {
      /* the process ended while we looked */
    }
  }
  return found;
}

describe('testbed lifecycle: up is idempotent and mends, down leaves nothing', () => {
  let first: TestbedState | undefined;

  afterAll(async () => {
    await down(overrides); // never leave the throwaway instance running, even on failure
  });

  it('up twice reuses every running part', async () => {
    first = await up(overrides);
    const again = await up(overrides);
    expect(processRefs(first).length).toBe(4);
    expect(processRefs(again).map((p) => p.pid)).toEqual(processRefs(first).map((p) => p.pid));
    expect(first.hosts[0]?.address).toBe('127.0.9.1');
  });

  it('a stopped libvirtd is reported by name, and up restarts only it', async () => {
    const host = first!.hosts[0]!;
    process.kill(host.libvirtd.pid, 'SIGKILL');
    const t0 = Date.now();
    await expect(checkHost(host)).rejects.toThrow(/libvirtd of host-1/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const { parts } = await status(overrides);
    expect(parts.find((p) => p.part === 'host-1')).toMatchObject({ ok: false });
    expect(parts.filter((p) => p.part !== 'host-1').every((p) => p.ok)).toBe(true);

    const mended = await up(overrides);
    expect(mended.hosts[0]!.libvirtd.pid).not.toBe(host.libvirtd.pid);
    expect(mended.redis!.process.pid).toBe(first!.redis!.process.pid);
    await checkHost(mended.hosts[0]);
    first = mended;
  });

  it('down stops every process and leaves no mount and no state behind', async () => {
    const refs = processRefs(first!);
    expect(refs.every((r) => isRunning(r))).toBe(true);
    await down(overrides);
    expect(refs.filter((r) => isRunning(r))).toEqual([]);
    expect(leftovers(first!.stateDir)).toEqual([]);
    expect(existsSync(first!.stateDir)).toBe(false);
    expect((await status(overrides)).state).toBeUndefined();
  });
});
