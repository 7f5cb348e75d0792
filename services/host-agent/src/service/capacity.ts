import type { GuestInfo, NodeInfo } from '../driver/types';
import { ResourceExhaustedError } from '../errors';

/**
 * Pure capacity accounting. Capacity is what the host can give guests (physical × the
 * overcommit ratios, minus memory kept for the host itself); allocated is the sum of the
 * specs of Deskplane's guests on it, running or not — a stopped guest still holds its
 * place, or starting it could fail later.
 *
 * Disk: overlays are thin (qcow2 on a golden image), so disk capacity is the size of the
 * filesystem holding them and "allocated" is what is used on it; the fit check covers
 * vCPUs and memory, which is what a new guest takes at once.
 */

export interface Resources {
  vcpus: number;
  memoryBytes: bigint;
  diskBytes: bigint;
}

export interface CapacityPolicy {
  /** vCPUs per physical CPU. Default 4. */
  cpuOvercommit: number;
  /** Guest memory per byte of host memory. Default 1.0 (no overcommit). */
  memoryOvercommit: number;
  /** Host memory never given to guests. Default 512 MiB. */
  reservedMemoryBytes: bigint;
  /** Replaces the computed values (one or more of them), e.g. to hold a host to a budget. */
  override?: Partial<Resources>;
}

export const DEFAULT_CAPACITY_POLICY: CapacityPolicy = {
  cpuOvercommit: 4,
  memoryOvercommit: 1,
  reservedMemoryBytes: 512n * 1024n * 1024n,
};

export function computeCapacity(node: NodeInfo, policy: CapacityPolicy): Resources {
  const memory = scale(node.memoryBytes, policy.memoryOvercommit) - policy.reservedMemoryBytes;
  return {
    vcpus: policy.override?.vcpus ?? Math.floor(node.cpus * policy.cpuOvercommit),
    memoryBytes: policy.override?.memoryBytes ?? (memory > 0n ? memory : 0n),
    diskBytes: policy.override?.diskBytes ?? node.diskCapacityBytes,
  };
}

/** Pending: guests being created right now, counted before they show up in the list. */
export function computeAllocated(node: NodeInfo, guests: readonly Pick<GuestInfo, 'desktopUid' | 'vcpus' | 'memoryBytes'>[], pending: ReadonlyMap<string, Demand> = new Map()): Resources {
  let vcpus = 0;
  let memoryBytes = 0n;
  for (const g of guests) {
    if (pending.has(g.desktopUid)) continue;
    vcpus += g.vcpus;
    memoryBytes += g.memoryBytes;
  }
  for (const d of pending.values()) {
    vcpus += d.vcpus;
    memoryBytes += d.memoryBytes;
  }
  const used = node.diskCapacityBytes - node.diskFreeBytes;
  return { vcpus, memoryBytes, diskBytes: used > 0n ? used : 0n };
}

export interface Demand {
  vcpus: number;
  memoryBytes: bigint;
}

/**
 * Throws ResourceExhaustedError naming every resource that is short when `demand` does
 * not fit beside what is allocated. `current` is the guest's own present allocation when
 * it already exists (it is replaced, not added); a guest that asks for no more than it
 * already holds always fits, so repeating a call on a full host stays harmless.
 */
export function checkFits(hostName: string, capacity: Resources, allocated: Resources, demand: Demand, current?: Demand): void {
  if (current && demand.vcpus <= current.vcpus && demand.memoryBytes <= current.memoryBytes) return;
  const others = {
    vcpus: allocated.vcpus - (current?.vcpus ?? 0),
    memoryBytes: allocated.memoryBytes - (current?.memoryBytes ?? 0n),
  };
  const short: string[] = [];
  const memoryLeft = max0(capacity.memoryBytes - others.memoryBytes);
  if (demand.memoryBytes > memoryLeft) {
    short.push(`${hostName} has ${gib(memoryLeft)} of ${gib(capacity.memoryBytes)} memory left; guest needs ${gib(demand.memoryBytes)}`);
  }
  const vcpusLeft = Math.max(0, capacity.vcpus - others.vcpus);
  if (demand.vcpus > vcpusLeft) {
    short.push(`${hostName} has ${vcpusLeft} of ${capacity.vcpus} vCPUs left; guest needs ${demand.vcpus}`);
  }
  if (short.length > 0) throw new ResourceExhaustedError(`${short.join('; ')} (place it on another host or free capacity here)`);
}

/** Bytes as GiB with one decimal: 1288490188 → "1.2 GiB". */
export function gib(bytes: bigint): string {
  const tenths = (bytes * 10n + GiB / 2n) / GiB;
  return `${tenths / 10n}.${tenths % 10n} GiB`;
}

const GiB = 1024n * 1024n * 1024n;
const max0 = (n: bigint): bigint => (n > 0n ? n : 0n);

function scale(bytes: bigint, ratio: number): bigint {
  // Ratios are configuration (a few decimals); scale in millionths to stay in bigint.
  return (bytes * BigInt(Math.round(ratio * 1_000_000))) / 1_000_000n;
}
