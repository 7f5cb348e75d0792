/**
 * Host name → KvmHost → spec.agentEndpoint → one cached gRPC client per endpoint, with
 * promise-returning calls that carry deadlines and turn gRPC errors into AgentCallError
 * (errors.ts decides which codes are permanent). Processors see only `HostAgent`.
 */
import { readFileSync } from 'node:fs';
import { credentials, Metadata, status as GrpcStatus, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import type { ResourceClient } from '@deskplane/resource-store';
import { AgentCallError, HostNotFoundError } from './errors';
import type { HostObject } from './resources';

export type Guest = hostAgent.Guest;
export type HostInfo = hostAgent.HostInfo;
export type MigrationProgress = hostAgent.MigrationProgress;
export const GuestState = hostAgent.GuestState;
export const MigrationPhase = hostAgent.MigrationPhase;

/** The calls the processors make on one host's agent. */
export interface HostAgent {
  readonly host: string;
  getHostInfo(): Promise<HostInfo>;
  ensureGuest(spec: hostAgent.GuestSpec): Promise<Guest>;
  startGuest(uid: string): Promise<Guest>;
  stopGuest(uid: string, timeoutSeconds: number): Promise<Guest>;
  /** True when something was deleted. */
  deleteGuest(uid: string): Promise<boolean>;
  /** undefined when the host has no such guest (NOT_FOUND). */
  getGuest(uid: string): Promise<Guest | undefined>;
  /** Every Deskplane guest defined on the host, running or not (drift repair). */
  listGuests(): Promise<Guest[]>;
  /** Streams progress to `onProgress`; resolves with the final message (SUCCEEDED, FAILED or ABORTED). */
  migrateGuest(req: hostAgent.MigrateGuestRequest, onProgress: (p: MigrationProgress) => void): Promise<MigrationProgress>;
  abortMigration(uid: string): Promise<boolean>;
  setMigrationBandwidth(uid: string, mibPerSecond: number): Promise<void>;
}

export interface HostAgents {
  forHost(host: string): Promise<HostAgent>;
  close(): void;
}

export interface AgentTlsConfig {
  /** PEM files: the CA of the agents' server certificates; with cert + key, mutual TLS. */
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export function channelCredentials(tls: AgentTlsConfig | undefined): ChannelCredentials {
  return tls
    ? credentials.createSsl(readFileSync(tls.caFile), tls.keyFile ? readFileSync(tls.keyFile) : null, tls.certFile ? readFileSync(tls.certFile) : null)
    : credentials.createInsecure();
}

export interface GrpcHostAgentsOptions {
  hosts: ResourceClient<HostObject>;
  tls?: AgentTlsConfig;
  /** Deadline of unary calls (StopGuest gets its timeout on top). Default 30 s. */
  deadlineMs?: number;
}

type Callback<T> = (err: ServiceError | null, res: T) => void;
type Invoke<Res> = (md: Metadata, opts: { deadline: number }, cb: Callback<Res>) => ClientUnaryCall;

export class GrpcHostAgents implements HostAgents {
  private readonly clients = new Map<string, hostAgent.HostAgentClient>();
  private readonly creds: ChannelCredentials;
  private readonly deadlineMs: number;

  constructor(private readonly o: GrpcHostAgentsOptions) {
    this.creds = channelCredentials(o.tls);
    this.deadlineMs = o.deadlineMs ?? 30_000;
  }

  async forHost(host: string): Promise<HostAgent> {
    const kvmHost = await this.o.hosts.get(host);
    const endpoint = kvmHost?.spec?.agentEndpoint;
    if (!endpoint) throw new HostNotFoundError(host);
    let client = this.clients.get(endpoint);
    if (!client) this.clients.set(endpoint, (client = new hostAgent.HostAgentClient(endpoint, this.creds)));
    return new GrpcHostAgent(host, client, this.deadlineMs);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

class GrpcHostAgent implements HostAgent {
  constructor(
    readonly host: string,
    private readonly c: hostAgent.HostAgentClient,
    private readonly deadlineMs: number,
  ) {}

  private call<Res>(method: string, invoke: Invoke<Res>, extraMs = 0): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke(new Metadata(), { deadline: Date.now() + this.deadlineMs + extraMs }, (err, res) =>
        err ? reject(new AgentCallError(this.host, method, err.code, err.details || err.message)) : resolve(res),
      );
    });
  }

  getHostInfo(): Promise<HostInfo> {
    return this.call<HostInfo>('GetHostInfo', (md, o, cb) => this.c.getHostInfo({}, md, o, cb));
  }

  ensureGuest(spec: hostAgent.GuestSpec): Promise<Guest> {
    return this.call<Guest>('EnsureGuest', (md, o, cb) => this.c.ensureGuest({ spec }, md, o, cb));
  }

  startGuest(uid: string): Promise<Guest> {
    return this.call<Guest>('StartGuest', (md, o, cb) => this.c.startGuest({ desktopUid: uid }, md, o, cb));
  }

  stopGuest(uid: string, timeoutSeconds: number): Promise<Guest> {
    return this.call<Guest>('StopGuest', (md, o, cb) => this.c.stopGuest({ desktopUid: uid, timeoutSeconds }, md, o, cb), timeoutSeconds * 1000);
  }

  async deleteGuest(uid: string): Promise<boolean> {
    const res = await this.call<hostAgent.DeleteGuestResponse>('DeleteGuest', (md, o, cb) => this.c.deleteGuest({ desktopUid: uid }, md, o, cb));
    return res.existed;
  }

  async getGuest(uid: string): Promise<Guest | undefined> {
    try {
      return await this.call<Guest>('GetGuest', (md, o, cb) => this.c.getGuest({ desktopUid: uid }, md, o, cb));
    } catch (e) {
      if (e instanceof AgentCallError && e.grpcCode === GrpcStatus.NOT_FOUND) return undefined;
      throw e;
    }
  }

  async listGuests(): Promise<Guest[]> {
    const res = await this.call<hostAgent.ListGuestsResponse>('ListGuests', (md, o, cb) => this.c.listGuests({}, md, o, cb));
    return res.guests;
  }

  migrateGuest(req: hostAgent.MigrateGuestRequest, onProgress: (p: MigrationProgress) => void): Promise<MigrationProgress> {
    return new Promise((resolve, reject) => {
      // No deadline: a migration runs as long as its completion timeout allows.
      const stream = this.c.migrateGuest(req);
      let last: MigrationProgress | undefined;
      stream.on('data', (p: MigrationProgress) => {
        last = p;
        try {
          onProgress(p);
        } catch {
          /* a progress handler never ends the stream */
        }
      });
      stream.on('error', (err: ServiceError) => reject(new AgentCallError(this.host, 'MigrateGuest', err.code, err.details || err.message)));
      stream.on('end', () =>
        last && isFinalPhase(last.phase)
          ? resolve(last)
          : reject(new AgentCallError(this.host, 'MigrateGuest', GrpcStatus.UNAVAILABLE, 'the progress stream ended without a final message')),
      );
    });
  }

  async abortMigration(uid: string): Promise<boolean> {
    const res = await this.call<hostAgent.AbortMigrationResponse>('AbortMigration', (md, o, cb) => this.c.abortMigration({ desktopUid: uid }, md, o, cb));
    return res.aborted;
  }

  async setMigrationBandwidth(uid: string, mibPerSecond: number): Promise<void> {
    const req = { desktopUid: uid, bandwidthMibPerSecond: BigInt(mibPerSecond) };
    await this.call<MigrationProgress>('SetMigrationBandwidth', (md, o, cb) => this.c.setMigrationBandwidth(req, md, o, cb));
  }
}

export function isFinalPhase(phase: hostAgent.MigrationPhase): boolean {
  return phase === MigrationPhase.MIGRATION_PHASE_SUCCEEDED || phase === MigrationPhase.MIGRATION_PHASE_FAILED || phase === MigrationPhase.MIGRATION_PHASE_ABORTED;
}

export function guestStateName(state: hostAgent.GuestState | undefined): string {
  return state === undefined ? 'absent' : (GuestState[state] ?? String(state)).replace(/^GUEST_STATE_/, '').toLowerCase();
}
