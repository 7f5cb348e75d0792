import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Finding what belongs to one simulated host, from /proc alone, so it also works when
 * its libvirtd is already dead. QEMU daemonizes away from libvirtd (its parent becomes
 * pid 1), so the process tree cannot be used; the host's namespaces can: every process
 * libvirtd starts inherits its UTS and mount namespace.
 */
export interface HostIdentity {
  root: string;
  /** Substring of the libvirtd command line (ProcessRef.match). */
  libvirtdMatch: string;
  /** e.g. "uts:[4026532281]" as read from /proc/<libvirtd>/ns/uts at start. */
  utsNamespace?: string;
  mntNamespace?: string;
}

export function namespacesOf(pid: number): { uts?: string; mnt?: string } {
  return { uts: readNs(pid, 'uts'), mnt: readNs(pid, 'mnt') };
}

function readNs(pid: number | string, kind: 'uts' | 'mnt'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((p) => p !== 1 && p !== process.pid);
}

/** PIDs recorded in the host's /run/libvirt/qemu/*.pid (visible outside as root/run/qemu). */
function qemuPidFiles(root: string): Set<number> {
  const dir = join(root, 'run', 'qemu');
  const out = new Set<number>();
  try {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.pid'))) {
      const pid = Number(read(join(dir, f)).trim());
      if (pid > 1) out.add(pid);
    }
  } catch {
    /* no QEMU ever ran, or the dir is gone */
  }
  return out;
}

/** Live (non-zombie) processes of the host: libvirtd, its QEMUs, any helper in its namespaces. */
export function hostProcesses(h: HostIdentity): number[] {
  const fromPidFiles = qemuPidFiles(h.root);
  return pids().filter((pid) => {
    const stat = read(`/proc/${pid}/stat`);
    if (stat === '' || /\) Z /.test(stat)) return false;
    if (h.utsNamespace && readNs(pid, 'uts') === h.utsNamespace) return true;
    if (h.mntNamespace && readNs(pid, 'mnt') === h.mntNamespace) return true;
    const cmdline = read(`/proc/${pid}/cmdline`).replace(/\0/g, ' ');
    if (cmdline.includes(h.libvirtdMatch)) return true;
    return fromPidFiles.has(pid) && cmdline.includes('qemu-system');
  });
}

/** Processes whose mount table still mentions the host dir (a bind mount that outlived the host). */
export function mountsReferencing(root: string): Array<{ pid: number; line: string }> {
  const hits: Array<{ pid: number; line: string }> = [];
  for (const pid of pids()) {
    const line = read(`/proc/${pid}/mountinfo`)
      .split('\n')
      .find((l) => l.includes(`${root}/`) || l.endsWith(root) || l.includes(`${root} `));
    if (line) hits.push({ pid, line });
  }
  return hits;
}
