import type { GatewayLog } from '../link-server';
import type { SessionInfo } from '../sessions';
import type { MintRequest, UpstreamTarget } from '../tickets';

/**
 * The migration hand-over the admin API drives (PrepareMigration / FinishMigration); the
 * gateway's session router implements it. prepare() resolves when every connected session
 * of the desktop is ready on the destination, or at timeoutMs (timedOut = true); it may
 * throw a FailedPreconditionError (errors.ts) to refuse, e.g. a second prepare of one desktop.
 */
export interface MigrationControl {
  prepare(r: { desktop: string; destination: UpstreamTarget; timeoutMs: number }): Promise<{ sessions: number; ready: number; timedOut: boolean }>;
  finish(r: { desktop: string; succeeded: boolean }): Promise<void> | void;
}

/** What MintTicket hands the ticket store: the store's request plus who the user is for policy. */
export type AdminMintRequest = MintRequest & { groups: string[]; policy?: string };

/** The parts of the gateway the admin API reads and acts through. */
export interface AdminDeps {
  sessions: {
    list(filter: { tenant?: string; user?: string; desktop?: string }): SessionInfo[];
    get(key: string): SessionInfo | undefined;
    kill(key: string, reason: string): boolean;
  };
  tickets: {
    mint(req: AdminMintRequest): Promise<{ ticket: string; ticketHash: string; expiresAt: number }>;
    revoke(ticketHash: string): Promise<void>;
  };
  /** Absent: ReloadPolicy is FAILED_PRECONDITION. */
  policies?: { reload(): Promise<void> };
  /** Learns a guest's link capabilities before its first ticket (CapsProber). Absent: no probe. */
  caps?: { ensure(target: UpstreamTarget): Promise<void> };
  /** Absent: the migration calls are UNIMPLEMENTED. */
  migration?: MigrationControl;
  log?: GatewayLog;
  /** Called once per RPC with its gRPC status code name (metrics). */
  onCall?: (method: string, code: string, ms: number) => void;
}
