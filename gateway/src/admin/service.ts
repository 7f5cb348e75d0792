import { randomUUID } from 'node:crypto';
import { Metadata, status, type handleUnaryCall, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { gatewayAdmin } from '@deskplane/grpc-contracts';
import { channelName } from '../channel-names';
import type { SessionInfo } from '../sessions';
import { AdminError, FailedPreconditionError, NotFoundError, UnavailableError, UnimplementedError } from './errors';
import type { AdminDeps } from './types';
import * as v from './validate';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A registry snapshot as the API shows it. */
export function toSession(s: SessionInfo): gatewayAdmin.Session {
  return {
    key: s.key,
    sessionId: s.sessionId,
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
    seamlessMigrations: s.seamlessMigrations,
    fallbackMigrations: s.fallbackMigrations,
    channels: s.channels.map((c) => ({
      id: c.id,
      channelType: c.channelType,
      channelName: channelName(c.channelType),
      channelId: c.channelId,
      upstream: c.upstream,
      transport: c.transport,
      openedAt: iso(c.openedAt),
      bytesToClient: BigInt(c.bytesToClient),
      bytesToGuest: BigInt(c.bytesToGuest),
    })),
  };
}

interface Call {
  requestId: string;
  /** Values that must never leave in an error message or a log line. */
  secrets: string[];
  /** Fields for the call's log line (who did what to whom). */
  fields: Record<string, unknown>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdFrom(metadata: Metadata): string {
  const given = metadata.get('x-request-id')[0];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function scrub(message: string, secrets: readonly string[]): string {
  return secrets.reduce((m, s) => (s === '' ? m : m.split(s).join('[redacted]')), message);
}

/**
 * The GatewayAdmin handlers over the gateway's parts: validate → act → proto. Every call
 * logs one `admin.call` line (method, code, ms, request id, and who/what it concerned —
 * never a ticket or password) and answers with an `x-request-id` trailer.
 */
export function adminImplementation(deps: AdminDeps): gatewayAdmin.GatewayAdminServer {
  const log = deps.log ?? (() => undefined);

  function unary<Req, Res>(method: string, fn: (req: Req, call: Call) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const started = performance.now();
      const ctx: Call = { requestId: requestIdFrom(call.metadata), secrets: [], fields: {} };
      const trailer = new Metadata();
      trailer.set('x-request-id', ctx.requestId);
      const done = (code: status, err: { code: status; details: string } | null, res: Res | null, detail?: string): void => {
        const ms = Math.round(performance.now() - started);
        const codeName = status[code];
        deps.onCall?.(method, codeName, ms);
        log('admin.call', { method, code: codeName, ms, requestId: ctx.requestId, ...ctx.fields, ...(detail !== undefined && { error: detail }) });
        if (err) callback({ ...err, metadata: trailer });
        else callback(null, res, trailer);
      };
      Promise.resolve()
        .then(() => fn(call.request, ctx))
        .then(
          (res) => done(status.OK, null, res),
          (err: unknown) => {
            const message = scrub(err instanceof Error ? err.message : String(err), ctx.secrets);
            if (err instanceof AdminError) return done(err.grpcCode, { code: err.grpcCode, details: message }, null, message);
            done(status.INTERNAL, { code: status.INTERNAL, details: `internal error (request id ${ctx.requestId})` }, null, message);
          },
        );
    };
  }

  return {
    listSessions: unary('ListSessions', (req: gatewayAdmin.ListSessionsRequest, call) => {
      const filter = v.listFilter(req);
      call.fields = { ...filter };
      return { sessions: deps.sessions.list(filter).map(toSession) };
    }),

    killSession: unary('KillSession', (req: gatewayAdmin.KillSessionRequest, call) => {
      const { key, reason } = v.killRequest(req);
      call.fields = { session: key, reason };
      const before = deps.sessions.get(key);
      if (before === undefined || !deps.sessions.kill(key, reason)) throw new NotFoundError(`no live session ${key} on this gateway`);
      call.fields = { session: key, reason, user: before.user, tenant: before.tenant, desktop: before.desktop };
      return { session: toSession(before) };
    }),

    reloadPolicy: unary('ReloadPolicy', async () => {
      if (!deps.policies) throw new FailedPreconditionError('this gateway runs without a policy source (DESKPLANE_GATEWAY_POLICY_SOURCE=none)');
      await deps.policies.reload();
      return {};
    }),

    mintTicket: unary('MintTicket', async (req: gatewayAdmin.MintTicketRequest, call) => {
      if (req.upstream?.password) call.secrets.push(req.upstream.password);
      const mint = v.mintRequest(req);
      const { host, port } = mint.upstream;
      call.fields = { user: mint.user, tenant: mint.tenant, desktop: mint.desktop, policy: mint.policy, upstream: `${host}:${port}`, ttlMs: mint.ttlMs };
      if (deps.caps) {
        await deps.caps.ensure(mint.upstream).catch((err: unknown) => {
          throw new UnavailableError(`cannot probe the guest's SPICE server ${host}:${port}: ${(err as Error).message}`);
        });
      }
      const t = await deps.tickets.mint(mint).catch((err: unknown) => {
        throw err instanceof AdminError ? err : new UnavailableError(`the ticket store failed: ${(err as Error).message}`);
      });
      call.secrets.push(t.ticket);
      call.fields = { ...call.fields, ticketHash: t.ticketHash };
      return { ticket: t.ticket, ticketHash: t.ticketHash, expiresAt: iso(t.expiresAt) };
    }),

    revokeTicket: unary('RevokeTicket', async (req: gatewayAdmin.RevokeTicketRequest, call) => {
      const hash = v.ticketHash(req);
      call.fields = { ticketHash: hash };
      await deps.tickets.revoke(hash).catch((err: unknown) => {
        throw new UnavailableError(`the ticket store failed: ${(err as Error).message}`);
      });
      return {};
    }),

    prepareMigration: unary('PrepareMigration', async (req: gatewayAdmin.PrepareMigrationRequest, call) => {
      if (req.destination?.password) call.secrets.push(req.destination.password);
      const r = v.prepareRequest(req);
      call.fields = { desktop: r.desktop, destination: `${r.destination.host}:${r.destination.port}`, timeoutMs: r.timeoutMs };
      if (!deps.migration) throw new UnimplementedError('this gateway was started without migration control');
      const out = await deps.migration.prepare(r);
      call.fields = { ...call.fields, ...out };
      return out;
    }),

    finishMigration: unary('FinishMigration', async (req: gatewayAdmin.FinishMigrationRequest, call) => {
      const r = v.finishRequest(req);
      call.fields = { ...r };
      if (!deps.migration) throw new UnimplementedError('this gateway was started without migration control');
      await deps.migration.finish(r);
      return {};
    }),
  };
}
