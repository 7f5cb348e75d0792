/** Numbers as the dashboard shows them: bytes in binary units, rates, ages. */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(?:([KMGTPE]i|[kMGTPE])|[eE](\d+))?$/;

/** Bytes in a Kubernetes quantity (`2Gi`, `1.5G`, `1073741824`); undefined when it is not one, so a bad status shows as unknown instead of breaking the page. */
export function quantityBytes(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return Number.isFinite(q) && q >= 0 ? q : undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  const unit = m[2] ?? '';
  const mult = m[3] !== undefined ? 10 ** Number(m[3]) : (BINARY[unit] ?? DECIMAL[unit] ?? 1);
  return Math.ceil(Number(m[1]) * mult);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 1536 → "1.5 KiB"; three significant digits at most, whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** How long ago `iso` was, from `now`: "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function formatAge(iso: string | undefined, now: number): string {
  if (iso === undefined) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Time of day for tables: the date is noise for something live. */
export function formatClock(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  return new Date(t).toLocaleTimeString(undefined, { hour12: false });
}
