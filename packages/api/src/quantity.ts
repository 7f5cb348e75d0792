/**
 * Byte quantities as Kubernetes writes them (`2Gi`, `512Mi`, `1.5G`, `1073741824`), for
 * code that compares memory and disk sizes (the scheduler, status writers).
 */

const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^((?:\d+(?:\.\d*)?)|(?:\.\d+))(?:([KMGTPE]i|[kMGTPE])|[eE](\d+))?$/;

/**
 * Bytes in a quantity, rounded up to a whole byte (as Kubernetes rounds memory).
 * Throws RangeError for anything that is not a non-negative byte quantity.
 */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') {
    if (!Number.isInteger(q) || q < 0) throw new RangeError(`invalid quantity ${q}: must be a non-negative whole number of bytes`);
    return q;
  }
  const m = QUANTITY.exec(q);
  if (!m) throw new RangeError(`invalid quantity ${JSON.stringify(q)}: expected e.g. 2Gi, 512Mi or 1073741824`);
  const multiplier = m[3] !== undefined ? 10 ** Number(m[3]) : SUFFIX[m[2] ?? '']!;
  return Math.ceil(Number(m[1]) * multiplier);
}

/** Bytes in the largest binary unit that divides them exactly: 2147483648 → `2Gi`, 1500 → `1500`. */
export function formatQuantity(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`invalid byte count ${bytes}`);
  for (const unit of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const size = SUFFIX[unit]!;
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
