import { readFileSync } from 'node:fs';
import { credentials as grpcCredentials, Metadata, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { gatewayAdmin } from '@deskplane/grpc-contracts';

export interface AdminClientOptions {
  /** Mutual TLS: the CA that signed the gateway's certificate, and this client's certificate and key. */
  tls?: { caFile: string; certFile: string; keyFile: string };
  /** Overrides tls (e.g. credentials built from in-memory PEMs). Default: plaintext. */
  credentials?: ChannelCredentials;
  /** Per-call deadline (PrepareMigration adds its own timeout to it). Default 30 000. */
  deadlineMs?: number;
  /** grpc-js channel options, e.g. `grpc.ssl_target_name_override` to dial an IP with a certificate for a name. */
  channelOptions?: Partial<ChannelOptions>;
}

/** One generated client call with its request bound. */
type Invoke<Res> = (metadata: Metadata, options: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/**
 * GatewayAdmin with promise methods, for the orchestrator and tests. Rejections are the
 * grpc-js ServiceError (`code`, `details`).
 */
export class GatewayAdminClient {
  readonly raw: gatewayAdmin.GatewayAdminClient;
  private readonly deadlineMs: number;

  constructor(address: string, opts: AdminClientOptions = {}) {
    const creds =
      opts.credentials ??
      (opts.tls
        ? grpcCredentials.createSsl(readFileSync(opts.tls.caFile), readFileSync(opts.tls.keyFile), readFileSync(opts.tls.certFile))
        : grpcCredentials.createInsecure());
    this.raw = new gatewayAdmin.GatewayAdminClient(address, creds, opts.channelOptions);
    this.deadlineMs = opts.deadlineMs ?? 30_000;
  }

  async listSessions(filter: Partial<gatewayAdmin.ListSessionsRequest> = {}): Promise<gatewayAdmin.Session[]> {
    const req = gatewayAdmin.ListSessionsRequest.fromPartial(filter);
    return (await this.call<gatewayAdmin.ListSessionsResponse>((m, o, cb) => this.raw.listSessions(req, m, o, cb))).sessions;
  }

  /** The session as it was just before it was cut. */
  async killSession(key: string, reason = ''): Promise<gatewayAdmin.Session | undefined> {
    return (await this.call<gatewayAdmin.KillSessionResponse>((m, o, cb) => this.raw.killSession({ key, reason }, m, o, cb))).session;
  }

  async reloadPolicy(): Promise<void> {
    await this.call<gatewayAdmin.ReloadPolicyResponse>((m, o, cb) => this.raw.reloadPolicy({}, m, o, cb));
  }

  mintTicket(req: Partial<gatewayAdmin.MintTicketRequest>): Promise<gatewayAdmin.MintTicketResponse> {
    const r = gatewayAdmin.MintTicketRequest.fromPartial(req);
    return this.call((m, o, cb) => this.raw.mintTicket(r, m, o, cb));
  }

  async revokeTicket(ticketHash: string): Promise<void> {
    await this.call<gatewayAdmin.RevokeTicketResponse>((m, o, cb) => this.raw.revokeTicket({ ticketHash }, m, o, cb));
  }

  prepareMigration(req: Partial<gatewayAdmin.PrepareMigrationRequest>): Promise<gatewayAdmin.PrepareMigrationResponse> {
    const r = gatewayAdmin.PrepareMigrationRequest.fromPartial(req);
    return this.call((m, o, cb) => this.raw.prepareMigration(r, m, o, cb), r.timeoutMs === 0 ? 10_000 : r.timeoutMs);
  }

  async finishMigration(desktop: string, succeeded: boolean): Promise<void> {
    await this.call<gatewayAdmin.FinishMigrationResponse>((m, o, cb) => this.raw.finishMigration({ desktop, succeeded }, m, o, cb));
  }

  close(): void {
    this.raw.close();
  }

  private call<Res>(invoke: Invoke<Res>, extraMs = 0): Promise<Res> {
    const deadline = new Date(Date.now() + this.deadlineMs + extraMs);
    return new Promise<Res>((resolve, reject) => {
      invoke(new Metadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}
