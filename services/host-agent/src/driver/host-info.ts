import { constants, promises as fs } from 'node:fs';
import type { Virsh } from './virsh';

/** `virsh nodeinfo` → CPUs and memory. Pure. */
export function parseNodeInfo(out: string): { cpus: number; memoryBytes: bigint } {
  const cpus = Number(/^CPU\(s\):\s+(\d+)/m.exec(out)?.[1] ?? 0);
  const kib = BigInt(/^Memory size:\s+(\d+)\s*KiB/m.exec(out)?.[1] ?? 0);
  return { cpus, memoryBytes: kib * 1024n };
}

/** `virsh version` → library and hypervisor versions. Pure. */
export function parseVersion(out: string): { libvirtVersion: string; qemuVersion: string } {
  return {
    libvirtVersion: /^Using library: libvirt ([\d.]+)/m.exec(out)?.[1] ?? 'unknown',
    qemuVersion: /^Running hypervisor: QEMU ([\d.]+)/m.exec(out)?.[1] ?? 'unknown',
  };
}

/**
 * 'kvm' only when all three hold: /dev/kvm opens read-write, the CPU advertises hardware
 * virtualisation (vmx/svm — a nested host without it can have a /dev/kvm that cannot run
 * stock kernels, as on the testbed machines), and libvirt's domcapabilities accepts kvm.
 * Otherwise 'qemu' (TCG).
 */
export async function detectDomainType(virsh: Virsh, paths = { kvm: '/dev/kvm', cpuinfo: '/proc/cpuinfo' }): Promise<'kvm' | 'qemu'> {
  const kvmOpens = await fs.open(paths.kvm, constants.O_RDWR).then(
    async (h) => {
      await h.close();
      return true;
    },
    () => false,
  );
  if (!kvmOpens) return 'qemu';
  const cpuinfo = await fs.readFile(paths.cpuinfo, 'utf8').catch(() => '');
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return 'qemu';
  const caps = await virsh.run(['domcapabilities', '--virttype', 'kvm']).catch(() => '');
  return /<domain>kvm<\/domain>/.test(caps) ? 'kvm' : 'qemu';
}
