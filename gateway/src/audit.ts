import type { GatewayLog } from './link-server';
import type { SessionEnd } from './sessions';

/** The fields of one `session.audit` line. Nothing here can hold a ticket or a password. */
export interface AuditLine {
  session: string;
  sessionId: number;
  user: string;
  tenant: string;
  desktop: string;
  policy: string;
  source: string;
  transport: string;
  /** The guest's SPICE server at the end (host:port). */
  upstream: string;
  openedAt: string;
  endedAt: string;
  durationMs: number;
  bytesToClient: number;
  bytesToGuest: number;
  reason: string;
  migrations: { seamless: number; fallback: number };
}

/** Pure: the audit record of an ended session. */
export function auditLine(end: SessionEnd): AuditLine {
  const s = end.info;
  return {
    session: s.key,
    sessionId: s.sessionId,
    user: s.user,
    tenant: s.tenant,
    desktop: s.desktop,
    policy: s.policy,
    source: s.source,
    transport: s.transport,
    upstream: s.upstream,
    openedAt: new Date(s.openedAt).toISOString(),
    endedAt: new Date(end.endedAt).toISOString(),
    durationMs: Math.max(0, end.endedAt - s.openedAt),
    bytesToClient: end.bytesToClient,
    bytesToGuest: end.bytesToGuest,
    reason: end.reason,
    migrations: { seamless: s.seamlessMigrations, fallback: s.fallbackMigrations },
  };
}

/** Anything that emits 'closed' with a SessionEnd: the SessionRegistry. */
interface ClosedEvents {
  on(event: 'closed', listener: (end: SessionEnd) => void): unknown;
  off(event: 'closed', listener: (end: SessionEnd) => void): unknown;
}

/**
 * Writes one `session.audit` line for every session that ends (who, which desktop, from
 * where, when, how long, bytes, why). Returns the function that stops it.
 */
export function attachAudit(sessions: ClosedEvents, log: GatewayLog): () => void {
  const onClosed = (end: SessionEnd): void => log('session.audit', { ...auditLine(end) });
  sessions.on('closed', onClosed);
  return () => void sessions.off('closed', onClosed);
}

/** Entries kept in the audit stream: XADD trims to about this many (MAXLEN ~). */
export const AUDIT_STREAM_MAXLEN = 100_000;
/** Version of the entry layout below, so a reader can skip what it does not understand. */
export const AUDIT_STREAM_VERSION = '1';

/** The stream's key: `<prefix>:audit`, beside the ticket store's keys (same prefix). */
export const auditStreamKey = (prefix = 'deskplane:gateway'): string => `${prefix}:audit`;

/**
 * One stream entry: the fields a query filters on flat (readable with redis-cli, no JSON
 * parse to skip an entry), and the whole line as JSON so new fields need no new layout.
 */
export function auditStreamFields(line: AuditLine): string[] {
  return ['v', AUDIT_STREAM_VERSION, 'tenant', line.tenant, 'user', line.user, 'desktop', line.desktop, 'line', JSON.stringify(line)];
}

/** A stream entry's field list as a map (XRANGE returns [name, value, name, value, …]). */
export function entryFields(fields: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  return m;
}

/** The audit line of a stream entry; undefined for an entry of another version or a damaged one. */
export function parseAuditStreamEntry(fields: readonly string[]): AuditLine | undefined {
  const m = entryFields(fields);
  if (m.get('v') !== AUDIT_STREAM_VERSION) return undefined;
  try {
    const line = JSON.parse(m.get('line') ?? '') as Partial<AuditLine> | null;
    const ok = line !== null && typeof line === 'object' && typeof line.session === 'string' && typeof line.user === 'string' &&
      typeof line.tenant === 'string' && typeof line.desktop === 'string' && typeof line.endedAt === 'string';
    return ok ? (line as AuditLine) : undefined;
  } catch {
    return undefined;
  }
}

/** What the stream needs of a Redis client (ioredis' xadd). */
export interface AuditStreamRedis {
  xadd(key: string, ...args: (string | number)[]): Promise<string | null>;
}

export interface RedisAuditStreamOptions {
  /** Key prefix; the stream is `<prefix>:audit`. Default `deskplane:gateway` (the ticket store's). */
  prefix?: string;
  maxLen?: number;
  /** Where a failed XADD is reported (`audit.stream-failed`); the log line is the record of last resort. */
  log?: GatewayLog;
}

/**
 * Audit lines into a Redis stream (XADD, MAXLEN ~), so the API can query them across
 * gateway replicas and restarts. Writes are fire-and-forget for the session that ended;
 * flush() waits for every one issued so far (call it before closing the Redis client, or
 * the lines of sessions the shutdown closed are lost).
 */
export class RedisAuditStream {
  readonly key: string;
  private readonly maxLen: number;
  private readonly log: GatewayLog;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly redis: AuditStreamRedis,
    opts: RedisAuditStreamOptions = {},
  ) {
    this.key = auditStreamKey(opts.prefix);
    this.maxLen = opts.maxLen ?? AUDIT_STREAM_MAXLEN;
    this.log = opts.log ?? (() => undefined);
  }

  write(line: AuditLine): void {
    const p = this.redis
      .xadd(this.key, 'MAXLEN', '~', this.maxLen, '*', ...auditStreamFields(line))
      .then(
        () => undefined,
        (err: unknown) => this.log('audit.stream-failed', { session: line.session, key: this.key, error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Writes every session that ends from now on; returns the function that stops it. */
  attach(sessions: ClosedEvents): () => void {
    const onClosed = (end: SessionEnd): void => this.write(auditLine(end));
    sessions.on('closed', onClosed);
    return () => void sessions.off('closed', onClosed);
  }

  /** Resolves when every write issued so far has been answered (or failed and was logged). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
