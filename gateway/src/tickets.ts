import { createHash, randomBytes } from 'node:crypto';
import { SERVER_MAX_PASSWORD_BYTES } from '@deskplane/spice-protocol';

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
  /** The user's groups at mint time (policy decisions are made on them later). */
  groups?: string[];
  /** Name of the DesktopPolicy resolved at mint. */
  policy?: string;
}

/** What the store keeps for one ticket. The ticket itself is never stored, only its hash. */
export interface TicketRecord {
  ticketHash: string;
  user: string;
  tenant: string;
  desktop: string;
  upstream: UpstreamTarget;
  groups?: string[];
  policy?: string;
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
  /**
   * Compare-and-set of the bound session: a fallback migration reconnects with the same
   * ticket and gets a new SPICE session id. True only if the ticket was bound to `fromSessionId`.
   */
  rebind(ticketHash: string, fromSessionId: number, toSessionId: number): Promise<boolean>;
  revoke(ticketHash: string): Promise<void>;
  /**
   * Where a desktop's new links go now that it has live-migrated (tickets minted before the
   * move still name the old host). Expires ROUTE_TTL_MS after the last setRoute.
   */
  setRoute(desktop: string, target: UpstreamTarget): Promise<void>;
  /** The desktop's route, or undefined (then the ticket's own upstream applies). */
  route(desktop: string): Promise<UpstreamTarget | undefined>;
  clearRoute(desktop: string): Promise<void>;
}

/** A route outlives any migration hand-over by far; set again on every migration. */
export const ROUTE_TTL_MS = 24 * 60 * 60 * 1000;

/** A copy that shares nothing mutable with the original. */
export function copyRecord(record: TicketRecord): TicketRecord {
  const copy: TicketRecord = { ...record, upstream: { ...record.upstream } };
  if (record.groups !== undefined) copy.groups = [...record.groups];
  return copy;
}

/** The record mint stores for a request, minus its hash and expiry. */
export function recordFields(req: MintRequest): Omit<TicketRecord, 'ticketHash' | 'expiresAt'> {
  const { user, tenant, desktop, upstream, groups, policy } = req;
  const fields: Omit<TicketRecord, 'ticketHash' | 'expiresAt'> = { user, tenant, desktop, upstream: { ...upstream } };
  if (groups !== undefined) fields.groups = [...groups];
  if (policy !== undefined) fields.policy = policy;
  return fields;
}

/** The error for a TTL a store cannot honour, if it is one (both stores validate the same way). */
export function ttlError(ttlMs: number): RangeError | undefined {
  return Number.isFinite(ttlMs) && ttlMs > 0 ? undefined : new RangeError(`ttlMs must be a positive number, got ${ttlMs}`);
}

/** 24 bytes → 32 base64url characters: well inside SERVER_MAX_PASSWORD_BYTES (59). */
const TICKET_BYTES = 24;

export function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket, 'utf8').digest('hex');
}

/** A fresh ticket and its hash: the only place tickets are made. */
export function newTicket(): { ticket: string; ticketHash: string } {
  const ticket = randomBytes(TICKET_BYTES).toString('base64url');
  if (Buffer.byteLength(ticket) > SERVER_MAX_PASSWORD_BYTES) throw new Error('ticket too long for SPICE');
  return { ticket, ticketHash: hashTicket(ticket) };
}

export interface MemoryTicketStoreOptions {
  /** Injected clock for tests. Default Date.now. */
  now?: () => number;
  /** Default ROUTE_TTL_MS. */
  routeTtlMs?: number;
}

/** Single-process TicketStore. Expired, unbound records and routes are swept on every mint. */
export class MemoryTicketStore implements TicketStore {
  private readonly records = new Map<string, TicketRecord>();
  private readonly routes = new Map<string, { target: UpstreamTarget; expiresAt: number }>();
  private readonly now: () => number;
  private readonly routeTtlMs: number;

  constructor(opts: MemoryTicketStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.routeTtlMs = opts.routeTtlMs ?? ROUTE_TTL_MS;
  }

  /** How many records are held (for tests and metrics). */
  get size(): number {
    return this.records.size;
  }

  mint(req: MintRequest): Promise<{ ticket: string; ticketHash: string; expiresAt: number }> {
    const bad = ttlError(req.ttlMs);
    if (bad !== undefined) return Promise.reject(bad);
    this.sweep();
    const { ticket, ticketHash } = newTicket();
    const expiresAt = this.now() + req.ttlMs;
    this.records.set(ticketHash, { ticketHash, ...recordFields(req), expiresAt });
    return Promise.resolve({ ticket, ticketHash, expiresAt });
  }

  redeem(ticket: string): Promise<TicketRecord | undefined> {
    const record = this.records.get(hashTicket(ticket));
    if (record === undefined || !this.isLive(record)) return Promise.resolve(undefined);
    return Promise.resolve(copyRecord(record));
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

  rebind(ticketHash: string, fromSessionId: number, toSessionId: number): Promise<boolean> {
    const record = this.records.get(ticketHash);
    if (record?.sessionId !== fromSessionId) return Promise.resolve(false);
    record.sessionId = toSessionId;
    return Promise.resolve(true);
  }

  revoke(ticketHash: string): Promise<void> {
    this.records.delete(ticketHash);
    return Promise.resolve();
  }

  setRoute(desktop: string, target: UpstreamTarget): Promise<void> {
    this.routes.set(desktop, { target: { ...target }, expiresAt: this.now() + this.routeTtlMs });
    return Promise.resolve();
  }

  route(desktop: string): Promise<UpstreamTarget | undefined> {
    const route = this.routes.get(desktop);
    if (route === undefined || this.now() >= route.expiresAt) return Promise.resolve(undefined);
    return Promise.resolve({ ...route.target });
  }

  clearRoute(desktop: string): Promise<void> {
    this.routes.delete(desktop);
    return Promise.resolve();
  }

  private isLive(record: TicketRecord): boolean {
    return record.sessionId !== undefined || this.now() < record.expiresAt;
  }

  private sweep(): void {
    for (const [hash, record] of this.records) if (!this.isLive(record)) this.records.delete(hash);
    const now = this.now();
    for (const [desktop, route] of this.routes) if (now >= route.expiresAt) this.routes.delete(desktop);
  }
}
