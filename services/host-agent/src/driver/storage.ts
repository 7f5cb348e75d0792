import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { FailedPreconditionError, InternalError, InvalidArgumentError, ResourceExhaustedError } from '../errors';
import type { GoldenImage } from './types';

/**
 * Golden images and guest overlays on the local (or shared) filesystem, via qemu-img.
 * Golden image `<name>` = `<goldenImagesDir>/<name>.qcow2` plus an optional
 * `<name>.boot.json` ({kernel, initrd, cmdline}) for direct kernel boot.
 */

const QEMU_IMG_TIMEOUT_MS = 60_000;

function qemuImg(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', args, { timeout: QEMU_IMG_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const msg = (stderr || err.message).trim().replace(/\s+/g, ' ');
      if (/No space left|Disk quota/i.test(msg)) return reject(new ResourceExhaustedError(`qemu-img ${args[0]} failed: ${msg}`, 'DISK_FULL'));
      reject(new InternalError(`qemu-img ${args[0]} failed: ${msg}`, 'QEMU_IMG_FAILED'));
    });
  });
}

const BOOT_SUFFIX = '.boot.json';

export async function listGoldenImages(dir: string): Promise<GoldenImage[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw new FailedPreconditionError(`golden images dir ${dir} cannot be read: ${(err as Error).message}`, 'GOLDEN_IMAGES_DIR');
  }
  const images: GoldenImage[] = [];
  for (const file of names.filter((n) => n.endsWith('.qcow2')).sort()) {
    images.push(await readGoldenImage(dir, file.slice(0, -'.qcow2'.length)));
  }
  return images;
}

export async function readGoldenImage(dir: string, name: string): Promise<GoldenImage> {
  const path = join(dir, `${name}.qcow2`);
  const info = JSON.parse(await qemuImg(['info', '--output=json', '-U', path])) as { 'virtual-size'?: number };
  const image: GoldenImage = { name, path, virtualSizeBytes: BigInt(info['virtual-size'] ?? 0) };
  let bootText: string | undefined;
  try {
    bootText = await fs.readFile(join(dir, `${name}${BOOT_SUFFIX}`), 'utf8');
  } catch {
    bootText = undefined;
  }
  if (bootText !== undefined) {
    const b = JSON.parse(bootText) as Partial<Record<'kernel' | 'initrd' | 'cmdline', unknown>>;
    if (typeof b.kernel !== 'string' || typeof b.initrd !== 'string' || typeof b.cmdline !== 'string') {
      throw new FailedPreconditionError(`${join(dir, name + BOOT_SUFFIX)} must hold {kernel, initrd, cmdline} strings`, 'GOLDEN_IMAGE_BOOT');
    }
    image.boot = { kernel: b.kernel, initrd: b.initrd, cmdline: b.cmdline };
  }
  return image;
}

/** The named golden image, or FailedPreconditionError listing the known ones. */
export async function findGoldenImage(dir: string, name: string, hostLabel: string): Promise<GoldenImage> {
  const valid = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name);
  const exists = valid && (await fs.stat(join(dir, `${name}.qcow2`)).then(() => true, () => false));
  if (!exists) {
    const known = (await listGoldenImages(dir)).map((i) => i.name);
    throw new FailedPreconditionError(
      `golden image '${name}' is not on ${hostLabel}; known: ${known.join(', ') || '(none)'} (in ${dir})`,
      'GOLDEN_IMAGE_NOT_FOUND',
    );
  }
  return readGoldenImage(dir, name);
}

export const fileExists = (path: string): Promise<boolean> => fs.stat(path).then(() => true, () => false);

/**
 * qcow2 overlay on the golden image, made under a temporary name and renamed into place,
 * so a failure never leaves half a disk at `overlayPath`. Returns false when it existed.
 */
export async function ensureOverlay(image: GoldenImage, overlayPath: string, sizeBytes: bigint): Promise<boolean> {
  if (await fileExists(overlayPath)) return false;
  if (sizeBytes < image.virtualSizeBytes) {
    throw new InvalidArgumentError(
      `disk of ${sizeBytes} bytes is smaller than golden image '${image.name}' (${image.virtualSizeBytes} bytes)`,
      'DISK_TOO_SMALL',
    );
  }
  const tmp = `${overlayPath}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await qemuImg(['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.path, tmp, String(sizeBytes)]);
    await fs.rename(tmp, overlayPath);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return true;
}

/**
 * True when a QEMU holds the image open for writing (qemu-img cannot take its shared lock).
 * On shared storage that QEMU may run on another host: after a migration, the source's
 * "delete" must not take the disk from under the guest.
 */
export async function imageInUse(path: string): Promise<boolean> {
  if (!(await fileExists(path))) return false;
  try {
    await qemuImg(['info', '--output=json', path]);
    return false;
  } catch (err) {
    if (/lock/i.test((err as Error).message)) return true;
    throw err;
  }
}

/** Removes the files; true when any existed. */
export async function removeFiles(paths: readonly string[]): Promise<boolean> {
  let any = false;
  for (const p of paths) {
    if (await fileExists(p)) any = true;
    await fs.rm(p, { force: true });
  }
  return any;
}
