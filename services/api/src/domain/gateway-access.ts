/**
 * What the API needs from the SPICE gateway — mint a console ticket, list and kill
 * sessions — behind one interface, with two implementations: in-process (the local run
 * starts the gateway in the same process and shares its TicketStore) and gRPC (the
 * gateway's admin API, on clusters).
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import type { gatewayAdmin } from '@deskplane/grpc-contracts';
import { channelName, type Gateway, type GatewayAdminClient, type SessionInfo, type TicketStore, type UpstreamTarget } from '@deskplane/gateway';
import { Unavailable } from './unavailable';

export interface TicketRequest {
  user: string;
  /** The tenant's namespace. */
  tenant: string;
  /** `namespace/name` of the VirtualDesktop. */
  desktop: string;
  groups: string[];
  /** DesktopPolicy name resolved at mint; unset lets the gateway choose. */
  policy?: string;
  upstream: UpstreamTarget;
  /** How long the ticket can start a session (1–3600). */
  ttlSeconds: number;
}

export interface SessionFilter {
  tenant?: string;
  user?: string;
  /** `namespace/name`. */
  desktop?: string;
}

export interface GatewaySession {
  key: string;
  user: string;
  tenant: string;
  desktop: string;
  /** Client address of the main channel. */
  source: string;
  transport: string;
  openedAt: string;
  lastInputAt: string;
  /** host:port of the guest's SPICE server (platform ops only: callers strip it for tenants). */
  upstream: string;
  /** DesktopPolicy in force ("" = none). */
  policy: string;
  migrating: boolean;
  channels: Array<{ name: string; bytesToClient: number; bytesToGuest: number }>;
}

export interface GatewayAccess {
  mint(req: TicketRequest): Promise<{ ticket: string; expiresAt: Date }>;
  listSessions(filter: SessionFilter): Promise<GatewaySession[]>;
  /** The session as it was just before it was cut; undefined when no live session has that key. */
  killSession(key: string, reason: string): Promise<GatewaySession | undefined>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function fromRegistry(s: SessionInfo): GatewaySession {
  return {
    key: s.key,
    user: s.user,
    tenant: s.tenant,
    desktop: s.desktop,
    source: s.source,
    transport: s.transport,
    openedAt: iso(s.openedAt),
    lastInputAt: iso(s.lastInputAt),
    upstream: s.upstream,
    policy: s.policy,
    migrating: s.migrating,
    channels: s.channels.map((c) => ({ name: channelName(c.channelType), bytesToClient: c.bytesToClient, bytesToGuest: c.bytesToGuest })),
  };
}

function fromProto(s: gatewayAdmin.Session): GatewaySession {
  return {
    key: s.key,
    user: s.user,
    tenant: s.tenant,
    desktop: s.desktop,
    source: s.source,
    transport: s.transport,
    openedAt: s.openedAt,
    lastInputAt: s.lastInputAt,
    upstream: s.upstream,
    policy: s.policy,
    migrating: s.migrating,
    channels: s.channels.map((c) => ({ name: c.channelName, bytesToClient: Number(c.bytesToClient), bytesToGuest: Number(c.bytesToGuest) })),
  };
}

const defined = (f: SessionFilter): SessionFilter => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));

export interface InProcessGatewayOptions {
  gateway: Pick<Gateway, 'sessions'>;
  tickets: Pick<TicketStore, 'mint'>;
  /** Learns the guest's link capabilities before its first ticket (CapsProber), as the admin API does. */
  caps?: { ensure(target: UpstreamTarget): Promise<void> };
}

/** The gateway in this process (the local run). */
export class InProcessGatewayAccess implements GatewayAccess {
  constructor(private readonly o: InProcessGatewayOptions) {}

  async mint(req: TicketRequest): Promise<{ ticket: string; expiresAt: Date }> {
    if (this.o.caps) {
      await this.o.caps.ensure(req.upstream).catch((err: unknown) => {
        throw new Unavailable(`the desktop's console server does not answer: ${(err as Error).message}`);
      });
    }
    const t = await this.o.tickets.mint({
      user: req.user,
      tenant: req.tenant,
      desktop: req.desktop,
      groups: [...req.groups],
      upstream: req.upstream,
      ttlMs: req.ttlSeconds * 1000,
      ...(req.policy !== undefined ? { policy: req.policy } : {}),
    });
    return { ticket: t.ticket, expiresAt: new Date(t.expiresAt) };
  }

  listSessions(filter: SessionFilter): Promise<GatewaySession[]> {
    return Promise.resolve(this.o.gateway.sessions.list(defined(filter)).map(fromRegistry));
  }

  killSession(key: string, reason: string): Promise<GatewaySession | undefined> {
    const before = this.o.gateway.sessions.get(key);
    if (!before || !this.o.gateway.sessions.kill(key, reason)) return Promise.resolve(undefined);
    return Promise.resolve(fromRegistry(before));
  }
}

const isServiceError = (e: unknown): e is ServiceError => e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number';

/** gRPC failures the caller can do nothing about but wait become 503; the rest stay errors (500). */
function mapGrpc(err: unknown, what: string): Error {
  if (isServiceError(err) && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) {
    return new Unavailable(`${what}: ${err.details || 'the gateway did not answer'}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The gateway's admin API over gRPC (clusters). One replica's sessions only: see the README. */
export class GrpcGatewayAccess implements GatewayAccess {
  constructor(private readonly client: Pick<GatewayAdminClient, 'mintTicket' | 'listSessions' | 'killSession'>) {}

  async mint(req: TicketRequest): Promise<{ ticket: string; expiresAt: Date }> {
    try {
      const r = await this.client.mintTicket({
        user: req.user,
        tenant: req.tenant,
        desktop: req.desktop,
        groups: [...req.groups],
        policy: req.policy ?? '',
        upstream: { host: req.upstream.host, port: req.upstream.port, password: req.upstream.password },
        ttlSeconds: req.ttlSeconds,
      });
      return { ticket: r.ticket, expiresAt: new Date(r.expiresAt) };
    } catch (err) {
      throw mapGrpc(err, 'minting a console ticket failed');
    }
  }

  async listSessions(filter: SessionFilter): Promise<GatewaySession[]> {
    try {
      return (await this.client.listSessions(defined(filter))).map(fromProto);
    } catch (err) {
      throw mapGrpc(err, 'listing sessions failed');
    }
  }

  async killSession(key: string, reason: string): Promise<GatewaySession | undefined> {
    try {
      const s = await this.client.killSession(key, reason);
      return s ? fromProto(s) : undefined;
    } catch (err) {
      if (isServiceError(err) && err.code === status.NOT_FOUND) return undefined;
      throw mapGrpc(err, 'killing the session failed');
    }
  }
}
