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
