/**
 * Drift repair, the pure part: what the hosts really run (ListGuests per KvmHost) against
 * what the resources say (VirtualDesktops' `status.host`, DesktopMigrations in flight),
 * with the first-seen times of orphan guests → the actions of one pass.
 *
 * - An **orphan** is a guest on a host with no desktop of that uid, or whose desktop is
 *   settled on another host. First seen → `reportOrphan` (Warning Event on the KvmHost);
 *   still an orphan `orphanGraceMs` later → `deleteOrphan`. A guest that stops being an
 *   orphan (a desktop claims it) loses its first-seen time, so the grace starts again.
 * - A **missing guest**: a desktop Running or Stopped on a listed host that has no guest of
 *   its uid → `repairMissing` (re-provision on the same host), unless a repair is in flight.
 * - Never touched: guests and desktops of a desktop with a DesktopMigration in flight
 *   (source and target alike), in a transitional phase (Pending … Starting, Stopping,
 *   Migrating) or being deleted (the deprovision job owns that guest).
 * - Hosts whose ListGuests failed are not in `hosts`: nothing is decided about them and
 *   their first-seen times are kept as they are.
 */
import { TERMINAL_MIGRATION_PHASES, type DesktopMigration, type VirtualDesktop } from '@deskplane/api';

export interface HostGuests {
  host: string;
  /** Desktop uids of the guests defined on the host (running or not). */
  guests: readonly string[];
}

export type DriftDesktop = Pick<VirtualDesktop, 'metadata' | 'status'>;
export type DriftMigration = Pick<DesktopMigration, 'metadata' | 'spec' | 'status'>;

export interface DriftInput {
  /** Only the hosts listed successfully in this pass. */
  hosts: readonly HostGuests[];
  desktops: readonly DriftDesktop[];
  migrations: readonly DriftMigration[];
  /** `sightingKey(host, uid)` → when the orphan was first seen (ms). */
  sightings: ReadonlyMap<string, number>;
  /** Desktop uids whose repair job is still waiting or running. */
  repairsInFlight: ReadonlySet<string>;
  now: number;
  orphanGraceMs: number;
}

export interface DesktopKey {
  namespace: string;
  name: string;
  uid: string;
}

export type DriftAction =
  | { kind: 'reportOrphan'; host: string; uid: string; why: string }
  | { kind: 'deleteOrphan'; host: string; uid: string; why: string; orphanForMs: number }
  | { kind: 'repairMissing'; host: string; desktop: DesktopKey; phase: 'Running' | 'Stopped' };

export interface DriftPlan {
  actions: DriftAction[];
  /** The first-seen map to store after this pass. */
  sightings: Map<string, number>;
}

export const sightingKey = (host: string, uid: string): string => `${host}/${uid}`;
const hostOfKey = (key: string): string => key.slice(0, key.lastIndexOf('/'));

/** Desktop phases in which the guest may be coming, going or moving: its guests are left alone. */
const TRANSITIONAL = new Set(['Pending', 'Scheduling', 'Provisioning', 'Starting', 'Stopping', 'Migrating', 'Deleting']);

const settledPhase = (vd: DriftDesktop): 'Running' | 'Stopped' | undefined => {
  const p = vd.status?.phase;
  return p === 'Running' || p === 'Stopped' ? p : undefined;
};

/** Desktop uids with a DesktopMigration that has not ended (any phase but Succeeded, Failed, Aborted). */
export function migratingUids(desktops: readonly DriftDesktop[], migrations: readonly DriftMigration[]): Set<string> {
  const uidByName = new Map(desktops.map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, d.metadata.uid]));
  const out = new Set<string>();
  for (const m of migrations) {
    if (m.status?.phase && TERMINAL_MIGRATION_PHASES.includes(m.status.phase)) continue;
    const uid = uidByName.get(`${m.metadata.namespace}/${m.spec.desktopName}`);
    if (uid) out.add(uid);
  }
  return out;
}

export function decideDrift(input: DriftInput): DriftPlan {
  const byUid = new Map(input.desktops.filter((d) => d.metadata.uid).map((d) => [d.metadata.uid!, d]));
  const protectedUids = migratingUids(input.desktops, input.migrations);
  const listed = new Set(input.hosts.map((h) => h.host));
  const actions: DriftAction[] = [];
  // Hosts not listed this pass keep their sightings untouched.
  const sightings = new Map([...input.sightings].filter(([k]) => !listed.has(hostOfKey(k))));

  for (const { host, guests } of input.hosts) {
    for (const uid of guests) {
      const why = orphanReason(host, uid, byUid.get(uid), protectedUids);
      if (!why) continue;
      const key = sightingKey(host, uid);
      const first = input.sightings.get(key);
      sightings.set(key, first ?? input.now);
      if (first === undefined) actions.push({ kind: 'reportOrphan', host, uid, why });
      const since = first ?? input.now;
      if (input.now - since >= input.orphanGraceMs) actions.push({ kind: 'deleteOrphan', host, uid, why, orphanForMs: input.now - since });
    }
  }

  const guestsOn = new Map(input.hosts.map((h) => [h.host, new Set(h.guests)]));
  for (const vd of input.desktops) {
    const uid = vd.metadata.uid;
    const host = vd.status?.host;
    const phase = settledPhase(vd);
    if (!uid || !host || !phase || vd.metadata.deletionTimestamp || vd.status?.migrationRef) continue;
    const onHost = guestsOn.get(host);
    if (!onHost || onHost.has(uid) || protectedUids.has(uid) || input.repairsInFlight.has(uid)) continue;
    actions.push({ kind: 'repairMissing', host, desktop: { namespace: vd.metadata.namespace ?? '', name: vd.metadata.name ?? '', uid }, phase });
  }
  return { actions, sightings };
}

/** Why the guest of `uid` on `host` is an orphan, or undefined when it belongs (or must not be touched). */
function orphanReason(host: string, uid: string, vd: DriftDesktop | undefined, protectedUids: ReadonlySet<string>): string | undefined {
  if (protectedUids.has(uid)) return undefined;
  if (!vd) return 'no desktop has this uid';
  if (vd.metadata.deletionTimestamp || TRANSITIONAL.has(vd.status?.phase ?? 'Pending') || vd.status?.migrationRef) return undefined;
  const placedOn = vd.status?.host;
  if (!placedOn || placedOn === host) return undefined;
  return `desktop ${vd.metadata.namespace}/${vd.metadata.name} is ${vd.status?.phase} on ${placedOn}`;
}
