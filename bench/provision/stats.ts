/** Percentiles and table formatting for the provision bench. */

/** Nearest-rank percentile (p in 0..100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export const p50 = (v: readonly number[]): number => percentile(v, 50);
export const p95 = (v: readonly number[]): number => percentile(v, 95);
export const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);

/** "1,234 ms" style, or "—" for NaN. */
export const ms = (v: number): string => (Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')} ms` : '—');
export const num = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—');
export const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : '—');

/** A Markdown table (first two columns left-aligned, the rest right-aligned). */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i < 2 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
