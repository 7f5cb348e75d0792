import { createHash, randomBytes } from 'node:crypto';
import { LinkError, SERVER_MAX_PASSWORD_BYTES } from '@deskplane/spice-protocol';

/** Where a ticket leads: the guest's SPICE server and its real password. */
export interface UpstreamTarget {
  host: string;
  port: number;
  password: string;
}

export interface MintRequest {
  user: string;
  tenant: string;
  desktop: string;
  upstream: UpstreamTarget;
  ttlMs: number;
}

/** What the store keeps for one ticket. The ticket itself is never stored, only its hash. */
export interface TicketRecord {
  ticketHash: string;
  user: string;
  tenant: string;
  desktop: string;
  upstream: UpstreamTarget;
  /** Epoch ms. Past it, the ticket links nothing new unless its session is still alive. */
  expiresAt: number;
  /** The SPICE session (MAIN_INIT session_id) the ticket is bound to, while its main channel lives. */
  sessionId?: number;
}

/**
 * Console tickets behind one interface, so an in-memory store (tests, the local run) and
 * a shared one (several gateway replicas) are interchangeable. Async for the latter.
 */
export interface TicketStore {
  /** A fresh ticket (base64url of 24 random bytes = 32 chars, within SPICE's password limit). */
  mint(req: MintRequest): Promise<{ ticket: string; ticketHash: string; expiresAt: number }>;
  /** The ticket's record, or undefined when unknown, revoked or expired (and not bound). */
  redeem(ticket: string): Promise<TicketRecord | undefined>;
  /** Binds the ticket to a SPICE session on its first main channel. False if bound to another. */
  bind(ticketHash: string, sessionId: number): Promise<boolean>;
  /** The session's main channel ended: the ticket is free again (and subject to its TTL). */
  unbind(ticketHash: string, sessionId: number): Promise<void>;
  revoke(ticketHash: string): Promise<void>;
}

/** 24 bytes → 32 base64url characters: well inside SERVER_MAX_PASSWORD_BYTES (59). */
const TICKET_BYTES = 24;

export function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket, 'utf8').digest('hex');
}

export interface MemoryTicketStoreOptions {
  /** Injected clock for tests. Default Date.now. */
  now?: () => number;
}

/** Single-process TicketStore. Expired, unbound records are swept on every mint. */
export class MemoryTicketStore implements TicketStore {
  private readonly records = new Map<string, TicketRecord>();
  private readonly now: () => number;

  constructor(opts: MemoryTicketStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** How many records are held (for tests and metrics). */
  get size(): number {
    return this.records.size;
  }

  mint(req: MintRequest): Promise<{ ticket: string; ticketHash: string; expiresAt: number }> {
    if (!Number.isFinite(req.ttlMs) || req.ttlMs <= 0) {
      return Promise.reject(new RangeError(`ttlMs must be a positive number, got ${req.ttlMs}`));
    }
    this.sweep();
    const ticket = randomBytes(TICKET_BYTES).toString('base64url');
    if (Buffer.byteLength(ticket) > SERVER_MAX_PASSWORD_BYTES) throw new Error('ticket too long for SPICE');
    const ticketHash = hashTicket(ticket);
    const expiresAt = this.now() + req.ttlMs;
    const { user, tenant, desktop, upstream } = req;
    this.records.set(ticketHash, { ticketHash, user, tenant, desktop, upstream: { ...upstream }, expiresAt });
    return Promise.resolve({ ticket, ticketHash, expiresAt });
  }

  redeem(ticket: string): Promise<TicketRecord | undefined> {
    const record = this.records.get(hashTicket(ticket));
    if (record === undefined || !this.isLive(record)) return Promise.resolve(undefined);
    return Promise.resolve({ ...record, upstream: { ...record.upstream } });
  }

  bind(ticketHash: string, sessionId: number): Promise<boolean> {
    const record = this.records.get(ticketHash);
    if (record === undefined || !this.isLive(record)) return Promise.resolve(false);
    if (record.sessionId !== undefined && record.sessionId !== sessionId) return Promise.resolve(false);
    record.sessionId = sessionId;
    return Promise.resolve(true);
  }

  unbind(ticketHash: string, sessionId: number): Promise<void> {
    const record = this.records.get(ticketHash);
    if (record?.sessionId === sessionId) delete record.sessionId;
    return Promise.resolve();
  }

  revoke(ticketHash: string): Promise<void> {
    this.records.delete(ticketHash);
    return Promise.resolve();
  }

  private isLive(record: TicketRecord): boolean {
    return record.sessionId !== undefined || this.now() < record.expiresAt;
  }

  private sweep(): void {
    for (const [hash, record] of this.records) if (!this.isLive(record)) this.records.delete(hash);
  }
}

/**
 * The binding rule, pure: may a link with this connection_id and channel type use this
 * ticket? Returns LinkError.OK or the link error to refuse with.
 *
 * - MAIN with connection_id 0 starts a session: allowed if the ticket is not bound to a
 *   live session (one ticket, one session).
 * - MAIN with a non-zero connection_id is a seamless-migration link: not routed yet.
 * - Every other channel must carry the session id the ticket is bound to.
 */
export function checkBinding(record: TicketRecord, channelType: number, connectionId: number, mainType: number): number {
  if (channelType === mainType) {
    if (connectionId !== 0) return LinkError.BAD_CONNECTION_ID;
    return record.sessionId === undefined ? LinkError.OK : LinkError.PERMISSION_DENIED;
  }
  if (record.sessionId === undefined || connectionId !== record.sessionId) return LinkError.BAD_CONNECTION_ID;
  return LinkError.OK;
}
