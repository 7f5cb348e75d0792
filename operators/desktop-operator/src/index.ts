/**
 * @deskplane/desktop-operator — reconciles Deskplane resources. For now: the scheduler,
 * a pure module that picks a KVM host for a desktop or says why none fits.
 *
 * @example
 * ```ts
 * import { schedule } from '@deskplane/desktop-operator';
 *
 * const GiB = 1024 ** 3;
 * const result = schedule(
 *   { name: 'd1', namespace: 'team-a', owner: 'alice', vcpus: 2, memoryBytes: 4 * GiB,
 *     diskBytes: 40 * GiB, antiAffinity: 'owner', hostSelector: { zone: 'a' } },
 *   [{ name: 'kvm-1', labels: { zone: 'a' }, ready: true, schedulable: true, maintenance: false,
 *      capacity: { vcpus: 32, memoryBytes: 128 * GiB, diskBytes: 2048 * GiB },
 *      overcommit: { cpu: 4, memory: 1 },
 *      allocated: { vcpus: 0, memoryBytes: 0, diskBytes: 0 }, guests: [] }],
 *   { strategy: 'binPack' },
 * );
 * console.log(result.ok ? `place on ${result.host}` : result.message);
 * // → "place on kvm-1", or e.g. "0/1 hosts available: 1 insufficient memory"
 * ```
 */
export * from './scheduler';

