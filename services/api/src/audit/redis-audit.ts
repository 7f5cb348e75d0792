/**
 * The audit log query (platform ops): the gateway writes one entry per ended SPICE session
 * to the Redis stream `<prefix>:audit` (gateway/src/audit.ts, RedisAuditStream: XADD with
 * MAXLEN ~ 100 000); this reads it back newest first, filtered.
 */
import type { AuditLine } from '@deskplane/gateway';
import type { Redis } from 'ioredis';

/** One ended console session, as the gateway recorded it (its `AuditLine`) plus where it sits in the stream. */
export interface AuditRecord extends AuditLine {
  /** Stream entry id (`<ms>-<seq>`, the time Redis stored it): stable, orders the log. */
  id: string;
}

export interface AuditQuery {
  tenant?: string;
  user?: string;
  /** `namespace/name`. */
  desktop?: string;
  /** Sessions that ended at or after this time. */
  since?: Date;
  /** At most this many records (a positive integer). */
  limit: number;
}

export interface AuditReader {
  /** Matching records, newest first. */
  query(q: AuditQuery): Promise<AuditRecord[]>;
}

export interface RedisAuditReaderOptions {
  /** The gateway's key prefix (its TICKET_PREFIX); the stream is `<prefix>:audit`. Default `deskplane:gateway`. */
  prefix?: string;
  /** Entries read per XREVRANGE. Default 500. */
  batch?: number;
  /**
   * How far before `since` the scan starts: entry ids carry Redis' clock, endedAt the
   * gateway's, and the two may differ by this much. Default 60 000 ms.
   */
  clockSkewMs?: number;
}

/** The entry layout this reader understands (gateway/src/audit.ts AUDIT_STREAM_VERSION). */
const LAYOUT_VERSION = '1';

/**
 * Reads the stream from the newest entry back, in batches, filtering on the flat fields
 * (tenant, user, desktop) before parsing anything, until `limit` records matched or the
 * scan passed `since`. A stream holds ~100 000 entries at most, which bounds one query.
 * Entries of another layout version or damaged ones are skipped, not guessed at.
 */
export class RedisAuditReader implements AuditReader {
  readonly key: string;
  private readonly batch: number;
  private readonly clockSkewMs: number;

  constructor(
    private readonly redis: Pick<Redis, 'xrevrange'>,
    opts: RedisAuditReaderOptions = {},
  ) {
    this.key = `${opts.prefix ?? 'deskplane:gateway'}:audit`;
    this.batch = opts.batch ?? 500;
    this.clockSkewMs = opts.clockSkewMs ?? 60_000;
    if (!Number.isInteger(this.batch) || this.batch < 1) throw new RangeError(`batch must be a positive integer, got ${this.batch}`);
  }

  async query(q: AuditQuery): Promise<AuditRecord[]> {
    if (!Number.isInteger(q.limit) || q.limit < 1) throw new RangeError(`limit must be a positive integer, got ${q.limit}`);
    const sinceMs = q.since?.getTime();
    if (sinceMs !== undefined && Number.isNaN(sinceMs)) throw new RangeError('since is not a valid date');
    const start = sinceMs === undefined ? '-' : `${Math.max(0, sinceMs - this.clockSkewMs)}-0`;
    const out: AuditRecord[] = [];
    let end = '+';
    for (;;) {
      const entries = await this.redis.xrevrange(this.key, end, start, 'COUNT', this.batch);
      for (const [id, fields] of entries) {
        const m = fieldMap(fields);
        if (m.get('v') !== LAYOUT_VERSION) continue;
        if ((q.tenant !== undefined && m.get('tenant') !== q.tenant) || (q.user !== undefined && m.get('user') !== q.user)) continue;
        if (q.desktop !== undefined && m.get('desktop') !== q.desktop) continue;
        const record = parseRecord(id, m.get('line'));
        if (record === undefined || (sinceMs !== undefined && Date.parse(record.endedAt) < sinceMs)) continue;
        out.push(record);
        if (out.length === q.limit) return out;
      }
      if (entries.length < this.batch) return out;
      // Exclusive start (Redis ≥ 6.2): the next batch begins just before the last id read.
      end = `(${entries[entries.length - 1]![0]}`;
    }
  }
}

function fieldMap(fields: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  return m;
}

const STRING_FIELDS = ['session', 'user', 'tenant', 'desktop', 'policy', 'source', 'transport', 'upstream', 'openedAt', 'endedAt', 'reason'] as const;
const NUMBER_FIELDS = ['sessionId', 'durationMs', 'bytesToClient', 'bytesToGuest'] as const;

/** The record in an entry's `line` (JSON of the gateway's audit line), checked field by field. */
function parseRecord(id: string, json: string | undefined): AuditRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json ?? '');
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (!STRING_FIELDS.every((f) => typeof o[f] === 'string') || !NUMBER_FIELDS.every((f) => typeof o[f] === 'number')) return undefined;
  const mig = (o.migrations ?? {}) as Record<string, unknown>;
  const record = { id } as Record<string, unknown>;
  for (const f of [...STRING_FIELDS, ...NUMBER_FIELDS]) record[f] = o[f];
  record.migrations = { seamless: typeof mig.seamless === 'number' ? mig.seamless : 0, fallback: typeof mig.fallback === 'number' ? mig.fallback : 0 };
  return record as unknown as AuditRecord;
}
