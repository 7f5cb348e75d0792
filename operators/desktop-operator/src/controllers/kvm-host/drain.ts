/**
 * Pure: the host drain. `spec.maintenance: true` asks for every desktop placed on the host
 * to be live-migrated away: one DesktopMigration per desktop, in the desktop's namespace,
 * named deterministically (a replay finds it instead of making a second one), labelled
 * `deskplane.io/drain=<host>`, without a target (the migration loop picks one, the source
 * and hosts in maintenance excluded). All are created at once: the orchestrator runs them
 * within its limits (2 per source host, 5 in all). Maintenance off cancels the drain: its
 * migrations that are not moving memory yet are deleted, the ones that are finish.
 */
import { createHash } from 'node:crypto';
import { API_VERSION, ConditionReason, TERMINAL_MIGRATION_PHASES, type DesktopMigration, type VirtualDesktop } from '@deskplane/api';

/** On DesktopMigrations made by a drain: the KvmHost being drained (see drainLabelValue). */
export const DRAIN_LABEL = 'deskplane.io/drain';

const shortHash = (s: string, n = 8): string => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The host name, or for names longer than a label value may be (63), `<first 54>-<hash>`. */
export function drainLabelValue(host: string): string {
  return host.length <= 63 ? host : `${host.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${shortHash(host)}`;
}

/** `drain-<desktop>-<8 hex of sha256(host/uid)>`: one name per desktop and host, stable across replays. */
export function drainMigrationName(desktop: Pick<VirtualDesktop, 'metadata'>, host: string): string {
  return `drain-${desktop.metadata.name}-${shortHash(`${host}/${desktop.metadata.uid ?? ''}`)}`;
}

export interface DrainInput {
  host: string;
  maintenance: boolean;
  /** Every desktop the operator sees, all namespaces. */
  desktops: readonly VirtualDesktop[];
  /** Every migration the operator sees, all namespaces. */
  migrations: readonly DesktopMigration[];
}

export interface DrainPlan {
  /** Desktops still placed on the host (`status.host`), deleting ones included. */
  remaining: number;
  /** Migrations to create now. */
  create: DesktopMigration[];
  /** Desktops on the host that wait before a migration is made for them (`ns/name: why`). */
  waiting: string[];
  /** Drain migrations that ended while their desktop is still on the host (`ns/name (phase)`): delete one to have it made again. */
  stuck: string[];
  /**
   * Drain migrations of this host to delete: with maintenance off, every one not moving
   * memory (ended ones included: a later drain makes them again); in maintenance, unstarted
   * ones whose desktop is no longer on the host (evicted, deleted, moved by someone else).
   */
  cancel: DesktopMigration[];
}

const isTerminal = (m: DesktopMigration): boolean => m.status?.phase !== undefined && TERMINAL_MIGRATION_PHASES.includes(m.status.phase);
const nsName = (o: { metadata: { namespace?: string; name?: string } }): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export function planDrain(i: DrainInput): DrainPlan {
  const label = drainLabelValue(i.host);
  const placed = i.desktops.filter((d) => d.status?.host === i.host);
  const plan: DrainPlan = { remaining: placed.length, create: [], waiting: [], stuck: [], cancel: [] };
  const mine = i.migrations.filter((m) => m.metadata.labels?.[DRAIN_LABEL] === label);
  if (!i.maintenance) {
    plan.cancel = mine.filter((m) => !m.metadata.deletionTimestamp && m.status?.phase !== 'Migrating');
    return plan;
  }
  const onHost = new Set(placed.map(nsName));
  plan.cancel = mine.filter(
    (m) => !m.metadata.deletionTimestamp && !isTerminal(m) && m.status?.phase !== 'Migrating' && !onHost.has(`${m.metadata.namespace ?? ''}/${m.spec.desktopName}`),
  );
  for (const vd of placed) {
    const ns = vd.metadata.namespace ?? '';
    if (vd.metadata.deletionTimestamp || vd.status?.phase === 'Deleting') continue; // leaves the host by its deprovision job
    if (vd.status?.phase === 'Provisioning') {
      plan.waiting.push(`${nsName(vd)}: provisioning`);
      continue;
    }
    const active = i.migrations.find((m) => m.metadata.namespace === ns && m.spec.desktopName === vd.metadata.name && !isTerminal(m));
    if (active) continue; // a migration (ours or anyone's) is already moving it
    const name = drainMigrationName(vd, i.host);
    const existing = i.migrations.find((m) => m.metadata.namespace === ns && m.metadata.name === name);
    if (existing) {
      plan.stuck.push(`${ns}/${name} (${existing.status?.phase ?? 'unknown'})`);
      continue;
    }
    plan.create.push({
      apiVersion: API_VERSION,
      kind: 'DesktopMigration',
      metadata: { name, namespace: ns, labels: { [DRAIN_LABEL]: label } },
      spec: { desktopName: vd.metadata.name ?? '' },
    });
  }
  return plan;
}

/** What the Drained condition says beyond the count: the migrations that ended without moving their desktop, and who waits. */
export function drainNote(plan: DrainPlan): string | undefined {
  const parts: string[] = [];
  if (plan.stuck.length) parts.push(`drain migrations ended without moving the desktop (delete to retry): ${plan.stuck.join(', ')}`);
  if (plan.waiting.length) parts.push(`waiting: ${plan.waiting.join(', ')}`);
  return parts.length ? parts.join('; ') : undefined;
}

export interface DrainEvent {
  reason: 'DrainStarted' | 'Drained' | 'DrainCancelled';
  message: string;
}

/** Events on the drain's edges, from the Drained condition's reason before and after this reconcile. */
export function drainEvents(host: string, before: string | undefined, after: string, plan: DrainPlan): DrainEvent[] {
  const draining = (r: string | undefined) => r === ConditionReason.Draining || r === ConditionReason.Drained;
  const out: DrainEvent[] = [];
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  if (!draining(before) && draining(after)) out.push({ reason: 'DrainStarted', message: `maintenance on: moving ${n(plan.remaining, 'desktop')} off ${host}` });
  if (before !== ConditionReason.Drained && after === ConditionReason.Drained) out.push({ reason: 'Drained', message: `no desktop left on ${host}` });
  if (before === ConditionReason.Draining && !draining(after)) out.push({ reason: 'DrainCancelled', message: `maintenance off: ${n(plan.cancel.length, 'drain migration')} not yet moving memory cancelled` });
  return out;
}
