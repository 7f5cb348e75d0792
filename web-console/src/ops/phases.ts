/** Desktops by phase: counts per tenant and overall, columns in lifecycle order. */
import { DESKTOP_PHASES, type DesktopSummary } from './types';

export interface PhaseRow {
  tenant: string;
  counts: Record<string, number>;
  total: number;
}

export interface PhaseTable {
  /** Only phases some desktop is in, lifecycle order first, then any phase this build does not know. */
  phases: string[];
  rows: PhaseRow[];
  totals: PhaseRow;
}

/** A desktop being deleted counts as Deleting whatever its phase says: that is what happens to it next. */
export function effectivePhase(d: DesktopSummary): string {
  return d.deleting ? 'Deleting' : d.phase;
}

export function countPhases(desktops: readonly DesktopSummary[]): PhaseTable {
  const byTenant = new Map<string, PhaseRow>();
  const totals: PhaseRow = { tenant: 'All tenants', counts: {}, total: 0 };
  for (const d of desktops) {
    const phase = effectivePhase(d);
    let row = byTenant.get(d.tenant);
    if (!row) byTenant.set(d.tenant, (row = { tenant: d.tenant, counts: {}, total: 0 }));
    row.counts[phase] = (row.counts[phase] ?? 0) + 1;
    row.total++;
    totals.counts[phase] = (totals.counts[phase] ?? 0) + 1;
    totals.total++;
  }
  const known: readonly string[] = DESKTOP_PHASES;
  const seen = Object.keys(totals.counts);
  const phases = [...known.filter((p) => seen.includes(p)), ...seen.filter((p) => !known.includes(p)).sort()];
  const rows = [...byTenant.values()].sort((a, b) => a.tenant.localeCompare(b.tenant));
  return { phases, rows, totals };
}
