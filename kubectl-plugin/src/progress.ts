/**
 * Pure: what `migrate --wait` and `drain --wait` make of the objects they poll. A line is
 * printed only when it differs from the last one, so a log of a long wait shows each step
 * once instead of one line per poll.
 */
import { ConditionType, TERMINAL_MIGRATION_PHASES, getCondition, type DesktopMigration, type KvmHost, type VirtualDesktop } from '@deskplane/api';
import { oneLine } from './errors';

export type MigrationOutcome = { done: false } | { done: true; ok: true } | { done: true; ok: false; phase: string; reason: string };

/** `Migrating 42% kvm-host-1 -> kvm-host-2`, or the phase alone while there is nothing more to say. */
export function migrationLine(m: DesktopMigration): string {
  const s = m.status ?? {};
  const phase = s.phase ?? 'Pending';
  const target = s.targetHost ?? m.spec.targetHost;
  const route = s.sourceHost || target ? ` ${s.sourceHost ?? '?'} -> ${target ?? '(scheduler picks)'}` : '';
  const percent = s.progressPercent !== undefined && (phase === 'Migrating' || phase === 'Succeeded') ? ` ${s.progressPercent}%` : '';
  const downtime = phase === 'Succeeded' && s.downtimeMs !== undefined ? ` (downtime ${s.downtimeMs} ms)` : '';
  // While it waits (no target, desktop not placed yet) the Progressing message says for what.
  const waiting = getCondition(s.conditions, ConditionType.Progressing);
  const why = !TERMINAL_MIGRATION_PHASES.includes(phase) && phase !== 'Migrating' && waiting?.message ? `: ${oneLine(waiting.message, 160)}` : '';
  return `${phase}${percent}${route}${downtime}${why}`;
}

/** Why a migration ended badly: the Ready=False message, else Progressing's, else the phase. */
export function migrationFailureReason(m: DesktopMigration): string {
  const conditions = m.status?.conditions;
  const ready = getCondition(conditions, ConditionType.Ready);
  const progressing = getCondition(conditions, ConditionType.Progressing);
  const c = ready?.status === 'False' && ready.message ? ready : progressing?.message ? progressing : ready;
  if (c?.message) return `${c.reason}: ${oneLine(c.message)}`;
  if (c?.reason) return c.reason;
  return `migration ended ${m.status?.phase ?? 'without a reason'}`;
}

export function migrationOutcome(m: DesktopMigration): MigrationOutcome {
  const phase = m.status?.phase;
  if (!phase || !TERMINAL_MIGRATION_PHASES.includes(phase)) return { done: false };
  if (phase === 'Succeeded') return { done: true, ok: true };
  return { done: true, ok: false, phase, reason: migrationFailureReason(m) };
}

/** Desktops placed on the host: what the operator's Drained condition counts (status.host). */
export function desktopsOnHost(desktops: readonly VirtualDesktop[], host: string): VirtualDesktop[] {
  return desktops.filter((d) => d.status?.host === host);
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export type DrainState = { drained: true } | { drained: false; message: string };

/**
 * Drained only counts when the operator wrote it for the spec we set: a condition with an
 * observedGeneration older than `generation` describes an earlier maintenance window (a
 * quick undrain-drain would otherwise read the old True). A condition without one is taken
 * as current: nothing better is known.
 */
export function drainState(host: KvmHost, generation: number | undefined): DrainState {
  const c = getCondition(host.status?.conditions, ConditionType.Drained);
  const current = c !== undefined && (generation === undefined || c.observedGeneration === undefined || c.observedGeneration >= generation);
  if (current && c.status === 'True') return { drained: true };
  if (!current) return { drained: false, message: 'waiting for the operator to pick up the maintenance request' };
  return { drained: false, message: c.message ? oneLine(c.message, 200) : c.reason };
}

/** One progress line of a drain: how many desktops are left and what the operator says. */
export function drainLine(hostName: string, left: number | undefined, state: DrainState): string {
  if (state.drained) return `${hostName} drained: no desktop left`;
  const count = left === undefined ? '' : `${plural(left, 'desktop')} left on ${hostName}; `;
  return `${count}${state.message}`;
}

/** Prints a line only when it changed since the last one. */
export class ChangePrinter {
  private last: string | undefined;
  constructor(private readonly print: (line: string) => void) {}
  show(line: string): boolean {
    if (line === this.last) return false;
    this.last = line;
    this.print(line);
    return true;
  }
}
