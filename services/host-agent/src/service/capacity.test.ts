import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../driver/types';
import { ResourceExhaustedError } from '../errors';
import { checkFits, computeAllocated, computeCapacity, DEFAULT_CAPACITY_POLICY, gib } from './capacity';

const MiB = 1024n * 1024n;
const GiB = 1024n * MiB;
const node: NodeInfo = {
  hostname: 'host-1',
  hypervisor: 'qemu-tcg',
  cpus: 8,
  memoryBytes: 32n * GiB,
  diskCapacityBytes: 500n * GiB,
  diskFreeBytes: 400n * GiB,
  libvirtVersion: '9.0.0',
  qemuVersion: '7.2.0',
};
const guest = (uid: string, vcpus: number, memoryBytes: bigint) => ({ desktopUid: uid, vcpus, memoryBytes });

describe('capacity', () => {
  it('defaults: 4 vCPUs per CPU, memory 1:1 minus 512 MiB, disk = filesystem', () => {
    expect(computeCapacity(node, DEFAULT_CAPACITY_POLICY)).toEqual({ vcpus: 32, memoryBytes: 32n * GiB - 512n * MiB, diskBytes: 500n * GiB });
  });

  it('applies ratios and never goes below zero', () => {
    expect(computeCapacity(node, { cpuOvercommit: 1.5, memoryOvercommit: 1.25, reservedMemoryBytes: 0n })).toMatchObject({ vcpus: 12, memoryBytes: 40n * GiB });
    expect(computeCapacity({ ...node, memoryBytes: 256n * MiB }, DEFAULT_CAPACITY_POLICY).memoryBytes).toBe(0n);
  });

  it('an override replaces only what it names', () => {
    expect(computeCapacity(node, { ...DEFAULT_CAPACITY_POLICY, override: { memoryBytes: 2n * GiB } })).toEqual({ vcpus: 32, memoryBytes: 2n * GiB, diskBytes: 500n * GiB });
  });

  it('allocated sums every guest and the pending ones once', () => {
    const guests = [guest('a', 2, 2n * GiB), guest('b', 4, 4n * GiB)];
    expect(computeAllocated(node, guests)).toEqual({ vcpus: 6, memoryBytes: 6n * GiB, diskBytes: 100n * GiB });
    // 'b' is being re-ensured (pending replaces its listed size), 'c' is new.
    const pending = new Map([['b', { vcpus: 1, memoryBytes: 1n * GiB }], ['c', { vcpus: 1, memoryBytes: 512n * MiB }]]);
    expect(computeAllocated(node, guests, pending)).toMatchObject({ vcpus: 4, memoryBytes: 3n * GiB + 512n * MiB });
  });
});

describe('checkFits', () => {
  const capacity = { vcpus: 8, memoryBytes: 2n * GiB, diskBytes: 0n };

  it('fits exactly', () => {
    expect(() => checkFits('host-1', capacity, { vcpus: 4, memoryBytes: 1n * GiB, diskBytes: 0n }, { vcpus: 4, memoryBytes: 1n * GiB })).not.toThrow();
  });

  it('names what is short, with numbers a person can act on', () => {
    const allocated = { vcpus: 6, memoryBytes: 2n * GiB - 1288490189n, diskBytes: 0n };
    let err: unknown;
    try {
      checkFits('host-1', capacity, allocated, { vcpus: 4, memoryBytes: 4n * GiB });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as Error).message).toBe(
      'host-1 has 1.2 GiB of 2.0 GiB memory left; guest needs 4.0 GiB; host-1 has 2 of 8 vCPUs left; guest needs 4 (place it on another host or free capacity here)',
    );
  });

  it('only vCPUs short', () => {
    expect(() => checkFits('h', capacity, { vcpus: 8, memoryBytes: 0n, diskBytes: 0n }, { vcpus: 1, memoryBytes: MiB * 64n })).toThrow(/^h has 0 of 8 vCPUs left; guest needs 1/);
  });

  it('an existing guest is replaced, not added; asking for no more always fits', () => {
    const full = { vcpus: 8, memoryBytes: 3n * GiB, diskBytes: 0n }; // over capacity already
    const current = { vcpus: 2, memoryBytes: 1n * GiB };
    expect(() => checkFits('h', capacity, full, current, current)).not.toThrow();
    // growing by 1 GiB on a host that is over by 1 GiB does not fit
    expect(() => checkFits('h', capacity, full, { vcpus: 2, memoryBytes: 2n * GiB }, current)).toThrow(/has 0\.0 GiB of 2\.0 GiB memory left; guest needs 2\.0 GiB/);
    // growing within the room left fits
    expect(() => checkFits('h', capacity, { ...full, memoryBytes: 1n * GiB }, { vcpus: 2, memoryBytes: 2n * GiB }, current)).not.toThrow();
  });

  it('formats GiB with one decimal, rounded', () => {
    expect(gib(0n)).toBe('0.0 GiB');
    expect(gib(1288490188n)).toBe('1.2 GiB');
    expect(gib(GiB + GiB / 16n)).toBe('1.1 GiB'); // 1.0625
    expect(gib(GiB + GiB / 32n)).toBe('1.0 GiB'); // 1.03125
    expect(gib(16n * GiB)).toBe('16.0 GiB');
  });
});
