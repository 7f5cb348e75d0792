/**
 * `virsh domjobinfo --rawstats` output → numbers. Raw stats are exact bytes:
 *   Job type: 2
 *
 *   operation: 5
 *   time_elapsed: 2501
 *   data_total: 403259392
 *   …
 * The human form ("Job type:  Unbounded", "Data processed: 2.750 MiB") is parsed too, for
 * callers that did not pass --rawstats.
 */
export type JobType = 'none' | 'bounded' | 'unbounded' | 'completed' | 'failed' | 'cancelled';

export interface JobInfo {
  type: JobType;
  /** Milliseconds since the job started. */
  elapsedMs: number;
  dataTotal: bigint;
  dataProcessed: bigint;
  dataRemaining: bigint;
  /** Bytes per second of memory transfer. */
  memoryBps: bigint;
  /** Completed jobs only. */
  downtimeMs?: number;
  /** QEMU's iteration count of the memory transfer. */
  iteration?: number;
}

const RAW_TYPES: Record<string, JobType> = { '0': 'none', '1': 'bounded', '2': 'unbounded', '3': 'completed', '4': 'failed', '5': 'cancelled' };
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

function humanBytes(v: string | undefined): bigint | undefined {
  const m = v && /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB)$/.exec(v.trim());
  return m ? BigInt(Math.round(Number(m[1]) * UNITS[m[2]!]!)) : undefined;
}

function humanNumber(v: string | undefined): number | undefined {
  const m = v && /^(\d+)/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

export function parseJobInfo(out: string): JobInfo {
  const fields = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const typeField = fields.get('Job type') ?? '0';
  const big = (k: string): bigint | undefined => (fields.has(k) && /^\d+$/.test(fields.get(k)!) ? BigInt(fields.get(k)!) : undefined);
  const num = (k: string): number | undefined => (fields.has(k) && /^\d+$/.test(fields.get(k)!) ? Number(fields.get(k)) : undefined);

  if (/^\d+$/.test(typeField)) {
    return {
      type: RAW_TYPES[typeField] ?? 'none',
      elapsedMs: num('time_elapsed') ?? 0,
      dataTotal: big('data_total') ?? 0n,
      dataProcessed: big('data_processed') ?? 0n,
      dataRemaining: big('data_remaining') ?? 0n,
      memoryBps: big('memory_bps') ?? 0n,
      downtimeMs: typeField === '3' ? num('downtime') : undefined,
      iteration: num('memory_iteration'),
    };
  }
  const bps = /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB)\/s$/.exec(fields.get('Memory bandwidth') ?? '');
  const type = typeField.toLowerCase() as JobType;
  return {
    type: Object.values(RAW_TYPES).includes(type) ? type : 'none',
    elapsedMs: humanNumber(fields.get('Time elapsed')) ?? 0,
    dataTotal: humanBytes(fields.get('Data total')) ?? 0n,
    dataProcessed: humanBytes(fields.get('Data processed')) ?? 0n,
    dataRemaining: humanBytes(fields.get('Data remaining')) ?? 0n,
    memoryBps: bps ? BigInt(Math.round(Number(bps[1]) * UNITS[bps[2]!]!)) : 0n,
    downtimeMs: humanNumber(fields.get('Total downtime')),
    iteration: humanNumber(fields.get('Iteration')),
  };
}

/** Bytes per second → MiB/s with two decimals. */
export const toMiBps = (bps: bigint): number => Math.round((Number(bps) / 1024 ** 2) * 100) / 100;
