/**
 * Pure mapping from the informers' objects onto the planner's input, and from a planned
 * move onto the DesktopMigration that carries it out. Presence (idle or not) is filled in
 * by the task, which is the only part that does I/O.
 */
import { createHash } from 'node:crypto';
import { API_VERSION, TERMINAL_MIGRATION_PHASES, type DesktopMigration } from '@deskplane/api';
import type { DesktopObject, HostObject, MigrationObject, TemplateObject } from '../resources';
import { desktopRequest, hostCandidate, placedDesktops, placedEntry, templateResources } from '../controllers/shared/placement';
import type { ConsolidationDesktop, InFlightMigration, Move } from './plan';

/** On DesktopMigrations made by consolidation (and counted against its per-pass limit). */
export const REASON_LABEL = 'deskplane.io/reason';
export const CONSOLIDATION_REASON = 'consolidation';

/** The migration policy of packages/api/examples/05-desktopmigration.yaml: capped bandwidth, auto-converge, 10 min. */
export const DEFAULT_MIGRATION_POLICY: NonNullable<DesktopMigration['spec']['policy']> = { bandwidthMiBps: 256, autoConverge: true, completionTimeoutSeconds: 600 };

const nsName = (ns: string | undefined, name: string | undefined): string => `${ns ?? ''}/${name ?? ''}`;

export const isConsolidation = (m: Pick<MigrationObject, 'metadata'>): boolean => m.metadata.labels?.[REASON_LABEL] === CONSOLIDATION_REASON;

export function isInFlight(m: Pick<MigrationObject, 'status'>): boolean {
  const phase = m.status?.phase;
  return phase === undefined || !TERMINAL_MIGRATION_PHASES.includes(phase);
}

export interface ObjectsView {
  hosts: readonly HostObject[];
  desktops: readonly DesktopObject[];
  migrations: readonly MigrationObject[];
  template: (namespace: string, name: string) => TemplateObject | undefined;
}

export interface PlannerObjects {
  hosts: ReturnType<typeof hostCandidate>[];
  /** Desktops on the hosts, `idle` still unknown. */
  desktops: ConsolidationDesktop[];
  inFlight: InFlightMigration[];
  /** Keys of the desktops whose presence is worth asking: the ones that could move. */
  askPresence: string[];
}

/** Hosts as the scheduler sees them (operator placements and in-flight reservations included), desktops on them, migrations under way. */
export function plannerObjects(v: ObjectsView): PlannerObjects {
  const placed = placedDesktops([...v.desktops], [...v.migrations], v.template);
  // placedDesktops reserves a target once the migration loop has written it; a migration
  // made with spec.targetHost (ours) takes that host from the start, or the next pass could
  // plan the same room twice.
  const byKey = new Map(v.desktops.map((d) => [nsName(d.metadata.namespace, d.metadata.name), d] as const));
  for (const m of v.migrations) {
    const vd = byKey.get(nsName(m.metadata.namespace, m.spec.desktopName));
    const t = vd && v.template(vd.metadata.namespace ?? '', vd.spec.templateRef.name);
    if (!isInFlight(m) || m.status?.targetHost || !m.spec.targetHost || !vd || !t || vd.status?.host === m.spec.targetHost) continue;
    placed.push(placedEntry(vd, `migration:${m.metadata.uid ?? m.metadata.name}`, m.spec.targetHost, templateResources(t)));
  }
  const hosts = v.hosts.map((h) => hostCandidate(h, placed));
  const owned = new Set(hosts.map((h) => h.name));
  const inFlight: InFlightMigration[] = [];
  for (const m of v.migrations) {
    if (!isInFlight(m)) continue;
    const desktop = nsName(m.metadata.namespace, m.spec.desktopName);
    const from = m.status?.sourceHost ?? byKey.get(desktop)?.status?.host;
    const to = m.status?.targetHost ?? m.spec.targetHost;
    inFlight.push({ desktop, ...(from ? { from } : {}), ...(to ? { to } : {}), consolidation: isConsolidation(m) });
  }
  const migrating = new Set(inFlight.map((m) => m.desktop));
  const desktops: ConsolidationDesktop[] = [];
  const askPresence: string[] = [];
  for (const vd of v.desktops) {
    const host = vd.status?.host;
    if (!host || !owned.has(host)) continue;
    const key = nsName(vd.metadata.namespace, vd.metadata.name);
    const t = v.template(vd.metadata.namespace ?? '', vd.spec.templateRef.name);
    const deleting = vd.metadata.deletionTimestamp !== undefined;
    const phase = vd.status?.phase;
    desktops.push({
      key,
      host,
      request: desktopRequest(vd, t ? templateResources(t) : { vcpus: 0, memoryBytes: 0, diskBytes: 0 }),
      phase,
      idle: undefined,
      ...(deleting ? { deleting } : {}),
      ...(t ? {} : { blocked: `DesktopTemplate "${vd.spec.templateRef.name}" not found` }),
    });
    if (t && !deleting && phase === 'Running' && !migrating.has(key)) askPresence.push(key);
  }
  return { hosts, desktops, inFlight, askPresence };
}

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * `consolidate-<desktop>-<8 hex>`: the hash covers uid, hosts and the pass's time, so one
 * pass never makes two for a move while a later pass (after a failure) can make a new one.
 */
export function migrationName(desktopName: string, uid: string, move: Move, passAt: Date): string {
  return `consolidate-${desktopName.slice(0, 40).replace(/[^a-z0-9]+$/, '')}-${shortHash(`${uid}/${move.from}/${move.to}/${passAt.toISOString()}`)}`;
}

/** The DesktopMigration for one planned move: a targetHost, so the migration loop checks that host only. */
export function migrationFor(desktop: Pick<DesktopObject, 'metadata'>, move: Move, passAt: Date, policy = DEFAULT_MIGRATION_POLICY): MigrationObject {
  const name = desktop.metadata.name ?? '';
  return {
    apiVersion: API_VERSION,
    kind: 'DesktopMigration',
    metadata: {
      name: migrationName(name, desktop.metadata.uid ?? '', move, passAt),
      namespace: desktop.metadata.namespace ?? '',
      labels: { [REASON_LABEL]: CONSOLIDATION_REASON },
    },
    spec: { desktopName: name, targetHost: move.to, policy: { ...policy } },
  };
}
