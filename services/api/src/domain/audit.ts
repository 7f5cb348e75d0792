/**
 * The audit log as the ops API reads it. Another part writes the durable implementation
 * (a Redis stream); MemoryAuditLog serves tests and a single-process run.
 */
import { randomUUID } from 'node:crypto';
import type { AuditSink } from './access';

export interface AuditEntry {
  id: string;
  /** RFC 3339. */
  time: string;
  /** What happened, e.g. `desktop.create`, `console.open`, `session.kill`, `session.audit`. */
  action: string;
  tenant?: string;
  /** Who did it (or whose session it was). */
  user?: string;
  /** `namespace/name` of the desktop concerned. */
  desktop?: string;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  tenant?: string;
  user?: string;
  /** `namespace/name`. */
  desktop?: string;
  /** Only entries at or after this time. */
  since?: Date;
  /** At most this many, newest first. */
  limit: number;
}

export interface AuditReader {
  /** Matching entries, newest first, at most `limit`. */
  query(q: AuditQuery): Promise<AuditEntry[]>;
}

/** In-memory audit log (tests, single-process runs); keeps the newest `capacity` entries. */
export class MemoryAuditLog implements AuditReader, AuditSink {
  private readonly entries: AuditEntry[] = [];

  constructor(
    private readonly capacity = 10_000,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(entry: Omit<AuditEntry, 'id' | 'time'> & { time?: string }): void {
    this.entries.push({ ...entry, id: randomUUID(), time: entry.time ?? this.now().toISOString() });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  query(q: AuditQuery): Promise<AuditEntry[]> {
    const since = q.since?.getTime();
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < q.limit; i--) {
      const e = this.entries[i]!;
      if (q.tenant !== undefined && e.tenant !== q.tenant) continue;
      if (q.user !== undefined && e.user !== q.user) continue;
      if (q.desktop !== undefined && e.desktop !== q.desktop) continue;
      if (since !== undefined && Date.parse(e.time) < since) continue;
      out.push(structuredClone(e));
    }
    return Promise.resolve(out);
  }
}
