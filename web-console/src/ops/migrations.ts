/** Migration progress as the dashboard shows it. */
import { formatBytes } from './format';
import type { Migration } from './types';

const IN_FLIGHT: ReadonlySet<string> = new Set(['Pending', 'Scheduling', 'PreparingTarget', 'Migrating']);

export function inFlight(m: Migration): boolean {
  return IN_FLIGHT.has(m.phase);
}

export interface MigrationProgress {
  /** 0..100, or undefined before libvirt reports anything (the bar is then indeterminate). */
  percent: number | undefined;
  label: string;
}

/**
 * Percent from the orchestrator when it gives one, else from the byte counters. A live
 * migration re-sends dirtied memory, so processed can pass the first estimate of the total;
 * the percent is clamped but the bytes are shown as reported.
 */
export function migrationProgress(m: Migration): MigrationProgress {
  if (m.phase === 'Succeeded') return { percent: 100, label: done(m) };
  const processed = m.bytesProcessed;
  const remaining = m.bytesRemaining;
  let percent = m.progressPercent;
  if (percent === undefined && processed !== undefined && remaining !== undefined && processed + remaining > 0) {
    percent = (processed / (processed + remaining)) * 100;
  }
  if (percent !== undefined) percent = Math.min(100, Math.max(0, Math.round(percent)));
  const parts: string[] = [];
  if (percent !== undefined) parts.push(`${percent}%`);
  if (processed !== undefined) {
    parts.push(remaining !== undefined ? `${formatBytes(processed)} sent, ${formatBytes(remaining)} left` : `${formatBytes(processed)} sent`);
  }
  if (parts.length === 0) parts.push(IN_FLIGHT.has(m.phase) ? phaseWords(m.phase) : m.phase);
  return { percent: IN_FLIGHT.has(m.phase) || percent !== undefined ? percent : undefined, label: parts.join(' · ') };
}

function done(m: Migration): string {
  const parts = ['100%'];
  if (m.bytesProcessed !== undefined) parts.push(`${formatBytes(m.bytesProcessed)} sent`);
  if (m.downtimeMs !== undefined) parts.push(`${m.downtimeMs} ms downtime`);
  return parts.join(' · ');
}

function phaseWords(phase: string): string {
  switch (phase) {
    case 'Pending':
      return 'waiting to start';
    case 'Scheduling':
      return 'choosing a target host';
    case 'PreparingTarget':
      return 'preparing the target host';
    default:
      return 'starting';
  }
}

/** "host-a → host-b", with "?" for a target the scheduler has not picked yet. */
export function route(m: Migration): string {
  return `${m.sourceHost ?? '?'} → ${m.targetHost ?? '?'}`;
}

/** In-flight first (oldest first: the one most likely stuck), then the most recently finished few. */
export function splitMigrations(items: readonly Migration[], recent = 5): { active: Migration[]; finished: Migration[] } {
  const time = (m: Migration) => Date.parse(m.endTime ?? m.startTime ?? m.createdAt ?? '') || 0;
  const active = items.filter(inFlight).sort((a, b) => time(a) - time(b));
  const finished = items
    .filter((m) => !inFlight(m))
    .sort((a, b) => time(b) - time(a))
    .slice(0, recent);
  return { active, finished };
}
