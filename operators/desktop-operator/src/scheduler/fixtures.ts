/** Test fixtures: terse builders for hosts and desktops (used by the *.test.ts files only). */
import type { DesktopRequest, HostCandidate } from './types';

export const GiB = 1024 ** 3;

type HostOverrides = Partial<Omit<HostCandidate, 'capacity' | 'allocated' | 'overcommit'>> & {
  capacity?: Partial<HostCandidate['capacity']>;
  allocated?: Partial<HostCandidate['allocated']>;
  overcommit?: Partial<HostCandidate['overcommit']>;
};

/** A Ready, schedulable, empty host: 32 vCPUs (×4), 128 GiB (×1), 2 TiB disk. */
export function host(name: string, o: HostOverrides = {}): HostCandidate {
  return {
    labels: {},
    ready: true,
    schedulable: true,
    maintenance: false,
    guests: [],
    ...o,
    name,
    capacity: { vcpus: 32, memoryBytes: 128 * GiB, diskBytes: 2048 * GiB, ...o.capacity },
    overcommit: { cpu: 4, memory: 1, ...o.overcommit },
    allocated: { vcpus: 0, memoryBytes: 0, diskBytes: 0, ...o.allocated },
  };
}

/** A 2 vCPU, 4 GiB, 40 GiB desktop of alice in team-a, no constraints. */
export function desktop(name: string, o: Partial<DesktopRequest> = {}): DesktopRequest {
  return {
    namespace: 'team-a',
    owner: 'alice',
    vcpus: 2,
    memoryBytes: 4 * GiB,
    diskBytes: 40 * GiB,
    antiAffinity: 'none',
    ...o,
    name,
  };
}
