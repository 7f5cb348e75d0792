/**
 * The testbed's one description of itself: where every real dependency runs.
 * Written to `<stateDir>/testbed.json`; tests, tools and the local run read it.
 */
export const STATE_VERSION = 1;

export interface ProcessRef {
  pid: number;
  /** Substring of /proc/<pid>/cmdline that proves the pid is still ours (pid reuse). */
  match: string;
  logFile: string;
}

export interface RedisState {
  process: ProcessRef;
  host: string;
  port: number;
  url: string;
}

export interface KubeState {
  version: string;
  etcd: ProcessRef & { endpoint: string; dataDir: string };
  apiserver: ProcessRef & { url: string };
  /** kubeconfig with a cluster-admin static token. */
  kubeconfig: string;
  /** Static bearer token of the cluster-admin user (test-only credential). */
  adminToken: string;
  /** kubectl binary built with the apiserver (same version). */
  kubectl: string;
  /** CA bundle that verifies the apiserver's serving certificate. */
  caFile: string;
  /** helm binary (fetched once into the cache; the chart's tests render with it). */
  helm?: string;
}

export interface GuestImageState {
  /** Kernel for direct boot (bzImage: also shows a VGA text console). */
  kernel: string;
  initrd: string;
  /** Small qcow2 golden disk that desktops overlay. */
  goldenDisk: string;
  /** Kernel command line that sends the counter to the serial console. */
  cmdline: string;
  kernelVersion: string;
}

export interface HostState {
  /** Logical name, e.g. host-1. */
  name: string;
  /** UTS hostname inside the host's namespace (libvirt refuses "same host" migration otherwise). */
  hostname: string;
  /** Loopback address where this host's guests' SPICE and migration listen (127.0.1.N). */
  address: string;
  libvirtd: ProcessRef;
  /** libvirt URI usable from outside the namespace, e.g. qemu+unix:///system?socket=... */
  libvirtUri: string;
  socket: string;
  /** Directory holding this host's private /run/libvirt, /var/lib/libvirt, ... */
  root: string;
  /** Where this host keeps guest disks (visible from every namespace). */
  imagesDir: string;
  hostUuid: string;
  /**
   * Namespaces of the host's libvirtd ("uts:[4026532281]"), recorded at start: its QEMUs
   * inherit them, which is how stopHost finds them once libvirtd itself is gone.
   */
  utsNamespace?: string;
  mntNamespace?: string;
}

export interface TestbedState {
  version: typeof STATE_VERSION;
  name: string;
  stateDir: string;
  cacheDir: string;
  startedAt: string;
  redis?: RedisState;
  kube?: KubeState;
  guestImage?: GuestImageState;
  hosts: HostState[];
}
