import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestDomainXml } from '../../src/domain-xml';
import { run, waitFor } from '../../src/process';
import type { GuestImageState, HostState } from '../../src/state';
import { virsh } from '../../src/virsh';

/** A smoke-test guest and every file it owns, so cleanup can find them all. */
export interface TestGuest {
  name: string;
  uuid: string;
  password: string;
  disk: string;
  /** Serial log per host it ran on (a migration writes to the destination's file). */
  serialLogs: string[];
}

export const serialLogFor = (host: HostState, name: string): string => join(host.imagesDir, `${name}.serial.log`);

export function newGuest(host: HostState): TestGuest {
  const name = `smoke-${randomBytes(4).toString('hex')}`;
  return {
    name,
    uuid: randomUUID(),
    password: randomBytes(12).toString('base64url'),
    disk: join(host.imagesDir, `${name}.qcow2`),
    serialLogs: [serialLogFor(host, name)],
  };
}

/** Overlay of the golden disk, define, start. Returns the domain XML it defined. */
export async function defineAndStart(host: HostState, image: GuestImageState, g: TestGuest): Promise<string> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.goldenDisk, '-F', 'qcow2', g.disk]);
  const xml = buildTestDomainXml({
    name: g.name,
    uuid: g.uuid,
    memoryMiB: 192,
    vcpus: 1,
    kernel: image.kernel,
    initrd: image.initrd,
    cmdline: image.cmdline,
    disk: g.disk,
    serialLog: serialLogFor(host, g.name),
    spice: { listen: host.address, password: g.password },
  });
  const file = join(host.imagesDir, `${g.name}.xml`);
  writeFileSync(file, xml);
  try {
    await virsh(host.libvirtUri, ['define', file], 60_000);
  } finally {
    rmSync(file, { force: true });
  }
  await virsh(host.libvirtUri, ['start', g.name], 60_000);
  return xml;
}

/** Tick numbers printed so far by the guest's init ("deskplane-guest tick N"). */
export function ticks(serialLog: string): number[] {
  let text: string;
  try {
    text = readFileSync(serialLog, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/deskplane-guest tick (\d+)/g)].map((m) => Number(m[1]));
}

/**
 * Waits until the log shows the counter advancing past `after`: two different tick numbers
 * above it. Returns them (first, last).
 */
export async function waitForTicks(serialLog: string, opts: { after?: number; timeoutMs: number }): Promise<[number, number]> {
  const after = opts.after ?? 0;
  let first: number | undefined;
  return waitFor(
    `the guest counter in ${serialLog} to advance past ${after}`,
    () => {
      const seen = ticks(serialLog).filter((t) => t > after);
      const last = seen.at(-1);
      if (last === undefined) return undefined;
      first ??= last;
      return last !== first ? ([first, last] as [number, number]) : undefined;
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 200 },
  );
}

/** Host and port of the guest's SPICE server, as libvirt reports them. */
export async function spiceEndpoint(uri: string, name: string): Promise<{ host: string; port: number }> {
  const display = await virsh(uri, ['domdisplay', '--type', 'spice', name], 10_000);
  const m = /^spice:\/\/([^:/]+):(\d+)/.exec(display);
  if (!m) throw new Error(`virsh domdisplay ${name} gave no SPICE URI: "${display}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Destroys and undefines the guest wherever it may be, then deletes its files. Never throws. */
export async function removeGuest(hosts: readonly HostState[], g: TestGuest): Promise<void> {
  for (const h of hosts) {
    await virsh(h.libvirtUri, ['destroy', g.name], 30_000).catch(() => undefined);
    await virsh(h.libvirtUri, ['undefine', g.name], 30_000).catch(() => undefined);
  }
  for (const f of [g.disk, ...g.serialLogs]) rmSync(f, { force: true });
}

/**
 * The domain's migratable XML as the destination host should run it: serial log in the
 * destination's dir (its QEMU writes its own file) and SPICE listening on the
 * destination's address. --security-info keeps the SPICE password: the XML handed to
 * `migrate --xml` replaces the definition, password included.
 */
export async function migrationXml(source: HostState, dest: HostState, name: string): Promise<string> {
  const xml = await virsh(source.libvirtUri, ['dumpxml', '--migratable', '--security-info', name], 10_000);
  const from = serialLogFor(source, name);
  if (!xml.includes(from)) throw new Error(`domain XML of ${name} does not mention its serial log ${from}`);
  const graphics = /<graphics type='spice'[\s\S]*?<\/graphics>/.exec(xml)?.[0];
  if (!graphics?.includes(`'${source.address}'`)) throw new Error(`domain XML of ${name} has no SPICE graphics on ${source.address}`);
  return xml
    .split(from)
    .join(serialLogFor(dest, name))
    .replace(graphics, graphics.split(`'${source.address}'`).join(`'${dest.address}'`));
}
