/** Test fixtures: a consistent little world of hosts and desktops for the planner (used by *.test.ts only). */
import { desktop as request, GiB, host as hostFixture } from '../scheduler/fixtures';
import type { DesktopRequest, HostCandidate } from '../scheduler';
import type { ConsolidationDesktop } from './plan';

export { GiB };

export interface DesktopSpec {
  name: string;
  host: string;
  phase?: string;
  idle?: boolean | undefined;
  deleting?: boolean;
  request?: Partial<DesktopRequest>;
}

/** An 8 vCPU (no overcommit), 16 GiB, 500 GiB host. */
export function smallHost(name: string, o: Partial<HostCandidate> = {}): HostCandidate {
  return hostFixture(name, { capacity: { vcpus: 8, memoryBytes: 16 * GiB, diskBytes: 500 * GiB }, overcommit: { cpu: 1, memory: 1 }, ...o });
}

/**
 * Hosts with their allocation and guests derived from the desktops placed on them, as
 * `hostCandidate` derives them from the informers. Desktops default to 2 vCPU / 4 GiB /
 * 40 GiB, Running and idle.
 */
export function world(hosts: readonly HostCandidate[], specs: readonly DesktopSpec[]): { hosts: HostCandidate[]; desktops: ConsolidationDesktop[] } {
  const desktops: ConsolidationDesktop[] = specs.map((s) => ({
    key: `team-a/${s.name}`,
    host: s.host,
    request: request(s.name, { owner: `team-a/${s.name}`, ...s.request }),
    phase: s.phase ?? 'Running',
    idle: 'idle' in s ? s.idle : true,
    ...(s.deleting ? { deleting: true } : {}),
  }));
  const withGuests = hosts.map((h) => {
    const mine = desktops.filter((d) => d.host === h.name);
    return {
      ...h,
      allocated: {
        vcpus: mine.reduce((s, d) => s + d.request.vcpus, 0),
        memoryBytes: mine.reduce((s, d) => s + d.request.memoryBytes, 0),
        diskBytes: mine.reduce((s, d) => s + d.request.diskBytes, 0),
      },
      guests: mine.map((d) => ({ desktop: d.key, owner: d.request.owner, ...(d.request.pool ? { pool: d.request.pool } : {}) })),
    };
  });
  return { hosts: withGuests, desktops };
}
