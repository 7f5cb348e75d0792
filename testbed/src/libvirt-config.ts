import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * Layout and config of one simulated KVM host. Everything libvirtd would keep in system
 * paths lives under `root` and is bind-mounted over those paths inside the host's private
 * mount namespace, so several libvirtds coexist on one machine without seeing each other.
 */
export interface HostLayout {
  root: string;
  /** Bind mounts: directory under root → system path inside the namespace. */
  binds: ReadonlyArray<{ source: string; target: string }>;
  etcDir: string;
  runDir: string;
  /** Guest disks and serial logs; deliberately NOT under a private mount (migration needs it on both sides). */
  imagesDir: string;
  socket: string;
  libvirtdConf: string;
  qemuConf: string;
  logFile: string;
}

export function hostLayout(stateDir: string, name: string): HostLayout {
  const root = join(stateDir, 'hosts', name);
  const dirs = { run: '/run/libvirt', lib: '/var/lib/libvirt', etc: '/etc/libvirt', log: '/var/log/libvirt', cache: '/var/cache/libvirt' };
  return {
    root,
    binds: Object.entries(dirs).map(([d, target]) => ({ source: join(root, d), target })),
    etcDir: join(root, 'etc'),
    runDir: join(root, 'run'),
    imagesDir: join(root, 'images'),
    // /run/libvirt/libvirt-sock inside the namespace is this file outside it.
    socket: join(root, 'run', 'libvirt-sock'),
    libvirtdConf: join(root, 'etc', 'libvirtd.conf'),
    qemuConf: join(root, 'etc', 'qemu.conf'),
    logFile: join(root, 'libvirtd.log'),
  };
}

/** Stable per host directory, so a restarted host keeps its identity. */
export function hostUuidFor(root: string): string {
  const h = createHash('sha256').update(`deskplane-host:${root}`).digest('hex');
  // Shape it as a version-4 / RFC 4122 variant UUID; libvirt only checks the format.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16] ?? '0', 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function libvirtdConf(opts: { hostUuid: string }): string {
  return `# Written by the Deskplane testbed; regenerated on every host start.
# Migration refuses a destination with the same host UUID ("same host"), and every
# libvirtd on one machine would otherwise read the same SMBIOS/machine-id UUID.
host_uuid = "${opts.hostUuid}"
# Only root on this machine reaches the socket (it sits in the host's 0700 state dir);
# there is no polkit agent in the sandbox.
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
# Logs go to stderr, which the testbed captures in the host's libvirtd.log.
log_outputs = "3:stderr"
`;
}

export function qemuConf(opts: { address: string; index: number }): string {
  // Port ranges differ per host so two libvirtds on one machine never hand out the same
  // port, even before either QEMU has bound it.
  const spiceMin = 5900 + (opts.index - 1) * 100;
  const migMin = 49152 + (opts.index - 1) * 64;
  return `# Written by the Deskplane testbed; regenerated on every host start.
# QEMU writes its log itself instead of through virtlogd, so no virtlogd has to run in
# (or be shared between) the hosts' namespaces. Required: without it "virsh start" fails
# with "Failed to connect socket to '/run/libvirt/virtlogd-sock'".
stdio_handler = "file"
# Root without a security driver: the sandbox has no AppArmor/SELinux and guest files live
# in the testbed's state and cache dirs, which a dynamic-ownership dance would only slow.
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
remember_owner = 0
# Not required to run, but without it libvirt (cgroup v1, no systemd here) creates a
# shared "machine" cgroup in the root hierarchy of every controller, outside the host's
# dir, that outlives the testbed. The testbed needs no per-VM resource control.
cgroup_controllers = [ ]
# QEMU stays in the host's own mount namespace (no extra per-VM /dev namespace): one
# namespace per host to account for, and fewer mounts per guest start.
namespaces = [ ]
# This host's own loopback address: SPICE and incoming migration listen here only.
spice_listen = "${opts.address}"
vnc_listen = "${opts.address}"
migration_address = "${opts.address}"
migration_host = "${opts.address}"
remote_display_port_min = ${spiceMin}
remote_display_port_max = ${spiceMin + 99}
migration_port_min = ${migMin}
migration_port_max = ${migMin + 63}
`;
}
