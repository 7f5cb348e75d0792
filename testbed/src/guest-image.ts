import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run, type Log } from './process';
import type { GuestImageState } from './state';

/**
 * Bump when the initramfs, cmdline or disk recipe changes: it is part of the cache key,
 * so a changed recipe builds a fresh image instead of reusing a stale one.
 */
export const GUEST_RECIPE_VERSION = 'r2';

/**
 * Every Debian package the simulated hosts and the guest image need (the lead installs
 * them before `up`): QEMU with SPICE/QXL, monolithic libvirtd + virsh, a static busybox
 * and cpio for the initramfs, util-linux for unshare/nsenter/mount.
 */
export const GUEST_PACKAGES: readonly string[] = [
  'qemu-system-x86',
  'qemu-utils',
  'libvirt-daemon-system',
  'libvirt-clients',
  'busybox-static',
  'cpio',
  'util-linux',
];

const BUSYBOX = '/bin/busybox';
const GOLDEN_SIZE = '64M';
/**
 * Serial last: /dev/console (and so init's own stdout) is the LAST console= device. `quiet`
 * keeps kernel chatter off both screens so the counter is what a reader sees.
 */
const CMDLINE = 'console=tty0 console=ttyS0,115200 quiet loglevel=3 panic=-1';

/**
 * PID 1 of the guest. It writes to ttyS0 and tty0 explicitly so the counter reaches the
 * serial log (what tests read) and the VGA text screen (what a browser console shows),
 * whatever /dev/console happens to be.
 */
const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console node, so the kernel gave us no stdio: take it now.
exec 0</dev/console 1>/dev/console 2>&1
say() {
  echo "$1" >/dev/ttyS0 2>/dev/null
  echo "$1" >/dev/tty0 2>/dev/null
}
say "deskplane-guest up kernel $(uname -r)"
# deskplane.flood on the kernel command line: the VGA console scrolls as fast as the guest
# can write, so the display channel carries megabits per second (bandwidth-policy tests).
# The tick line still reaches ttyS0 once a second; without the switch nothing changes.
case " $(cat /proc/cmdline) " in
  *" deskplane.flood "*) (while :; do cat /proc/kallsyms; done) >/dev/tty0 2>/dev/null & ;;
esac
n=0
while :; do
  n=$((n + 1))
  say "deskplane-guest tick $n"
  sleep 1
done
`;

interface Manifest extends GuestImageState {
  recipe: string;
  builtAt: string;
}

/**
 * Returns the guest image, building it once into
 * `${cacheDir}/guest/<kernel-version>-<recipe>/`. A cached image of the current recipe is
 * reused without asking apt, so a warm call is instant and an `apt-get update` that brings
 * a newer kernel does not silently rebuild (delete the directory to move on).
 */
export async function ensureGuestImage(cacheDir: string, log: Log): Promise<GuestImageState> {
  const root = join(cacheDir, 'guest');
  const cached = findCached(root);
  if (cached) return cached;

  const pkg = await pickKernelPackage();
  const kernelVersion = pkg.replace(/^linux-image-/, '');
  const dest = join(root, `${kernelVersion}-${GUEST_RECIPE_VERSION}`);
  mkdirSync(root, { recursive: true });
  const tmp = mkdtempSync(join(root, '.build-'));
  const started = Date.now();
  try {
    log(`building guest image ${kernelVersion}-${GUEST_RECIPE_VERSION} (kernel from ${pkg})`);
    const kernelTmp = await fetchKernel(pkg, tmp);
    copyFileSync(kernelTmp, join(tmp, 'vmlinuz'));
    rmSync(join(tmp, 'deb'), { recursive: true, force: true });
    await buildInitramfs(join(tmp, 'initrd.img'), tmp);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(tmp, 'golden.qcow2'), GOLDEN_SIZE]);
    // Overlays point at this file as their backing store: it must never be written again.
    chmodSync(join(tmp, 'golden.qcow2'), 0o444);
    const image = describe(dest, kernelVersion);
    const manifest: Manifest = { ...image, recipe: GUEST_RECIPE_VERSION, builtAt: new Date().toISOString() };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    try {
      renameSync(tmp, dest);
    } catch (e) {
      // Another process finished the same build first; its result is as good as ours.
      if (!existsSync(join(dest, 'manifest.json'))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
    log(`guest image ready in ${Date.now() - started} ms at ${dest}`);
    return image;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`guest image build failed: ${(e as Error).message}`, { cause: e });
  }
}

function describe(dir: string, kernelVersion: string): GuestImageState {
  return {
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    goldenDisk: join(dir, 'golden.qcow2'),
    cmdline: CMDLINE,
    kernelVersion,
  };
}

/** The newest complete image of the current recipe, if any. */
function findCached(root: string): GuestImageState | undefined {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => !n.startsWith('.') && n.endsWith(`-${GUEST_RECIPE_VERSION}`));
  } catch {
    return undefined;
  }
  for (const name of names.sort(byKernelAbi).reverse()) {
    try {
      const m = JSON.parse(readFileSync(join(root, name, 'manifest.json'), 'utf8')) as Manifest;
      const image = describe(join(root, name), m.kernelVersion);
      if (m.recipe === GUEST_RECIPE_VERSION && [image.kernel, image.initrd, image.goldenDisk].every((f) => existsSync(f))) return image;
    } catch {
      /* incomplete or foreign directory: ignore */
    }
  }
  return undefined;
}

function byKernelAbi(a: string, b: string): number {
  const abi = (s: string): number => Number(/^6\.1\.0-(\d+)-/.exec(s)?.[1] ?? -1);
  return abi(a) - abi(b);
}

/**
 * The exact current `linux-image-6.1.0-N-amd64` (signed, generic flavour). Named exactly
 * because a pattern would make apt fetch every matching kernel.
 */
async function pickKernelPackage(): Promise<string> {
  const { stdout } = await run('apt-cache', ['search', '--names-only', '^linux-image-6\\.1\\.0-[0-9]+-amd64$'], { timeoutMs: 60_000 });
  const names = stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => /^linux-image-6\.1\.0-\d+-amd64$/.test(n));
  const newest = names.sort(byKernelAbi).at(-1);
  if (!newest) {
    throw new Error('no linux-image-6.1.0-N-amd64 package known to apt; run "apt-get update" (the guest kernel comes from Debian)');
  }
  return newest;
}

/** apt-get download + dpkg-deb -x; returns the path of the extracted bzImage. */
async function fetchKernel(pkg: string, workDir: string): Promise<string> {
  const debDir = join(workDir, 'deb');
  mkdirSync(debDir, { recursive: true });
  // apt drops to user _apt for downloads; a 0700 temp dir would make it warn and fall back.
  chmodSync(workDir, 0o755);
  chmodSync(debDir, 0o777);
  await run('apt-get', ['download', '-q', pkg], { cwd: debDir, timeoutMs: 15 * 60_000 });
  const deb = readdirSync(debDir).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb in ${debDir}`);
  const extracted = join(debDir, 'x');
  await run('dpkg-deb', ['-x', join(debDir, deb), extracted], { timeoutMs: 5 * 60_000 });
  const vmlinuz = readdirSync(join(extracted, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`${deb} has no boot/vmlinuz-*`);
  return join(extracted, 'boot', vmlinuz);
}

/** busybox + /init as a gzip'd cpio (newc) archive; no device nodes, so no root needed. */
async function buildInitramfs(out: string, workDir: string): Promise<void> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing; install the busybox-static package`);
  const rootfs = join(workDir, 'rootfs');
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  writeFileSync(join(rootfs, 'init'), INIT_SCRIPT, { mode: 0o755 });
  const entries = ['.', 'bin', 'bin/busybox', 'dev', 'init', 'proc', 'sys', 'tmp'];
  const cpioFile = join(workDir, 'initrd.cpio');
  await run('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '-F', cpioFile], { cwd: rootfs, input: entries.join('\n') + '\n' });
  writeFileSync(out, gzipSync(readFileSync(cpioFile), { level: 9 }));
  rmSync(cpioFile);
  rmSync(rootfs, { recursive: true, force: true });
}
