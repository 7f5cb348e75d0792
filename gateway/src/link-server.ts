import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  AuthMechanism,
  ChannelType,
  ClientLinkDecoder,
  DEFAULT_MAX_LINK_BODY_SIZE,
  LinkError,
  SpiceLinkError,
  decryptTicket,
  encodeLinkReply,
  encodeLinkResult,
  type ClientLinkMessage,
  type LinkMessage,
  type TicketKeyPair,
} from '@deskplane/spice-protocol';
import { andWords, isSubset, upstreamKey, type CapsBook } from './caps-book';
import { spliceChannel } from './channel-splice';
import type { DisplayGuard } from './display-guard';
import { guardedDisplay, mainFilter } from './channel-filters';
import type { LinkObserver } from './metrics';
import { admitChannel, admitSession } from './policy';
import type { FailureLimiter } from './rate-limit';
import { linkUpstream, readMainInit } from './relay';
import type { SessionPolicies } from './session-policy';
import type { SessionRouter } from './session-router';
import type { SessionRegistry } from './sessions';
import type { TicketRecord, TicketStore } from './tickets';
import { acceptTls, frontContext, type FrontTls } from './tls-front';

/** One structured log line. Never carries a ticket or a password. */
export type GatewayLog = (event: string, fields: Record<string, unknown>) => void;

export interface LinkServerDeps {
  tickets: TicketStore;
  keyPair: TicketKeyPair;
  caps: CapsBook;
  limiter: FailureLimiter;
  handshakeTimeoutMs: number;
  maxLinkBodySize?: number;
  log: GatewayLog;
  sessions: SessionRegistry;
  router: SessionRouter;
  policies: SessionPolicies;
  observer?: LinkObserver;
  /** Guarded display channels per session, so the main channel can close after them. */
  displays: Map<string, Set<{ guard: DisplayGuard; upstream: Socket }>>;
}

type Phase = 'link' | 'auth' | 'upstream' | 'spliced' | 'closed';

/** Where a client stream came from. */
export interface ClientContext {
  /** Source address: the failed-ticket limit and the logs key on it. */
  source: string;
  /** Transport name for the logs: tcp, connect, websocket. */
  transport: string;
  /** Handshake budget left (a CONNECT head already spent some). Default deps.handshakeTimeoutMs. */
  timeoutMs?: number;
}

/**
 * One client stream through the link phase: answers the link itself, checks the ticket,
 * logs in upstream, then hands both ends to splice(). The stream is any Duplex — a TCP
 * socket, a socket after an HTTP CONNECT, a WebSocket adapter. Every exit path closes the
 * client; nothing here outlives the handshake budget unless the link succeeded.
 */
export function handleClient(client: Duplex, deps: LinkServerDeps, ctx: ClientContext): void {
  const { source, transport } = ctx;
  const budgetMs = ctx.timeoutMs ?? deps.handshakeTimeoutMs;
  const decoder = new ClientLinkDecoder({ maxBodySize: deps.maxLinkBodySize ?? DEFAULT_MAX_LINK_BODY_SIZE });
  const started = Date.now();
  let phase: Phase = 'link';
  let link: LinkMessage | undefined;
  let promisedChannel: number[] = [];
  let promisedCommon: number[] = [];
  let mechanism: number = AuthMechanism.SPICE;
  let chain: Promise<void> = Promise.resolve();

  const close = (why: string, fields: Record<string, unknown> = {}): void => {
    if (phase === 'closed') return;
    if (phase !== 'spliced') deps.log('link.closed', { source, transport, why, phase, ...fields });
    phase = 'closed';
    clearTimeout(timer);
    client.destroy();
  };
  /** Refuses at whatever point the handshake is: as a link reply before ours, a link result after. */
  const refuse = (error: number, why: string): void => {
    if (phase === 'closed') return;
    if (phase === 'link') client.write(encodeLinkReply({ error, publicKey: Buffer.alloc(0), commonCaps: [], channelCaps: [] }));
    else client.write(encodeLinkResult(error));
    deps.log('link.refused', { source, transport, error, why, channelType: link?.channelType });
    deps.observer?.refused({ transport, channelType: link?.channelType, error, why });
    phase = 'closed';
    clearTimeout(timer);
    client.end(() => client.destroy());
    setTimeout(() => client.destroy(), 1_000).unref();
  };
  const timer = setTimeout(() => close('handshake timeout', { ms: budgetMs }), budgetMs);
  const left = (): number => Math.max(1, budgetMs - (Date.now() - started));

  const onLinkMessage = (msg: LinkMessage): void => {
    link = msg;
    if (deps.limiter.isBlocked(source)) return refuse(LinkError.PERMISSION_DENIED, 'too many failed tickets');
    const promised = deps.caps.promised(msg.channelType);
    promisedCommon = promised.common;
    promisedChannel = promised.channel;
    client.write(
      encodeLinkReply({ error: LinkError.OK, publicKey: deps.keyPair.publicKeyDer, commonCaps: promisedCommon, channelCaps: promisedChannel }),
    );
    phase = 'auth';
  };

  const onTicket = async (encrypted: Buffer, remainder: Buffer): Promise<void> => {
    const msg = link!;
    if (mechanism !== AuthMechanism.SPICE) return refuse(LinkError.PERMISSION_DENIED, `auth mechanism ${mechanism}`);
    let ticket: string | undefined;
    try {
      ticket = decryptTicket(encrypted, deps.keyPair.privateKey).toString('utf8');
    } catch {
      ticket = undefined;
    }
    let record: TicketRecord | undefined;
    try {
      record = ticket === undefined ? undefined : await deps.tickets.redeem(ticket);
    } catch (err) {
      // The store failing (Redis down, a record we cannot decrypt) is our fault, not a guessed ticket.
      return refuse(LinkError.ERROR, `ticket store: ${(err as Error).message}`);
    }
    if (phase === 'closed') return;
    if (record === undefined) {
      deps.limiter.recordFailure(source);
      return refuse(LinkError.PERMISSION_DENIED, 'unknown or expired ticket');
    }
    const decision = await deps.router.decide(record, msg.channelType, msg.connectionId, left() - 1_000);
    if (decision.kind === 'refuse') return refuse(decision.error, decision.why);
    const who = { tenant: record.tenant, user: record.user, groups: record.groups ?? [] };
    const policy = decision.kind === 'join' ? deps.policies.policyOf(decision.session) : deps.policies.resolve(who, record.policy);
    const admitted = decision.kind === 'new-session' && decision.replaces === undefined
      ? admitSession(policy, deps.sessions.countByUser(record.tenant, record.user))
      : admitChannel(policy, msg.channelType);
    if (admitted !== LinkError.OK) return refuse(admitted, `policy ${policy.name || '(none)'}`);

    phase = 'upstream';
    const target = decision.target;
    const upstreamLink: LinkMessage = {
      connectionId: msg.connectionId,
      channelType: msg.channelType,
      channelId: msg.channelId,
      commonCaps: andWords(msg.commonCaps, promisedCommon),
      channelCaps: andWords(msg.channelCaps, promisedChannel),
    };
    const up = await linkUpstream(target, upstreamLink, left(), (reply) => {
      deps.caps.learn(msg.channelType, { common: reply.commonCaps, channel: reply.channelCaps }, upstreamKey(target));
      // What we promised must be what the guest has, or the two ends disagree on features.
      const ok = isSubset(upstreamLink.commonCaps, reply.commonCaps) && isSubset(upstreamLink.channelCaps, reply.channelCaps);
      return ok ? LinkError.OK : LinkError.ERROR;
    }).catch((err: Error) => err);
    if (up instanceof Error) return refuse(LinkError.ERROR, `upstream: ${up.message}`);
    if (up.result !== LinkError.OK || up.socket === undefined) return refuse(up.result, 'upstream refused the link');
    const upstream = up.socket;
    // A display channel re-linked to a migration's destination starts with the client's
    // MIGRATE_DATA, not DISPLAY_INIT, and an injected DISPLAY_INIT aborts that QEMU
    // (dcc_handle_init: expect_init): the guard is only for channels that start fresh.
    const toDestination = decision.kind === 'join' && decision.toDestination;
    const current: { session?: string } = {};
    const display = msg.channelType === ChannelType.DISPLAY && !toDestination ? guardedDisplay() : undefined;
    const guard = display?.guard;
    const dropUpstream = (): void => {
      if (guard) return guard.closeUpstream(upstream);
      if (msg.channelType !== ChannelType.MAIN) return void upstream.destroy();
      // The main channel goes last: every display channel of the session must have had its
      // DISPLAY_INIT processed first (closing main while one has not froze QEMU for ~30 s).
      const displays = current.session === undefined ? [] : [...(deps.displays.get(current.session) ?? [])];
      const wait = Math.max(0, ...displays.map((d) => d.guard.initUpstream(d.upstream)));
      upstream.end();
      setTimeout(() => upstream.destroy(), wait).unref();
    };
    if (phase !== 'upstream') return dropUpstream();
    client.write(encodeLinkResult(LinkError.OK));

    let sessionKey: string;
    let first = up.remainder;
    if (decision.kind === 'new-session') {
      const init = await readMainInit(upstream, up.remainder, left()).catch((err: Error) => err);
      if (init instanceof Error) {
        upstream.destroy();
        return close(`main: ${init.message}`);
      }
      first = init.bytes;
      if (phase !== 'upstream') return void upstream.destroy();
      sessionKey = deps.sessions.open({
        sessionId: init.sessionId, user: record.user, tenant: record.tenant, desktop: record.desktop,
        source, transport, upstream: `${target.host}:${target.port}`, policy: policy.name,
      });
      deps.policies.add(sessionKey, who, record.policy, policy);
      const bound = await deps.router.started({ key: sessionKey, record, sessionId: init.sessionId, target, replaces: decision.replaces, transport });
      if (!bound || phase !== 'upstream') {
        upstream.destroy();
        deps.sessions.kill(sessionKey, 'ticket already bound to another session');
        return close('ticket already bound to another session');
      }
      if (decision.replaces !== undefined) {
        deps.sessions.recordMigration(sessionKey, 'fallback');
        deps.observer?.migrated({ path: 'fallback' });
      }
    } else {
      sessionKey = decision.session;
      if (deps.sessions.get(sessionKey) === undefined) {
        dropUpstream();
        return close('session ended while linking');
      }
      if (msg.channelType === ChannelType.MAIN) deps.sessions.update(sessionKey, { migrating: true });
    }
    current.session = sessionKey;
    phase = 'spliced';
    clearTimeout(timer);
    const channelType = msg.channelType;
    deps.observer?.spliced({ transport, channelType, handshakeMs: Date.now() - started });
    deps.log('link.spliced', {
      source, transport, channelType, session: sessionKey, user: record.user, desktop: record.desktop,
      upstream: `${target.host}:${target.port}`, toDestination: decision.kind === 'join' && decision.toDestination,
    });
    // The registry's closer needs the splice, and the splice needs the registry's channel number.
    const live: { splice?: { close(reason: string): void } } = {};
    const channelNo = deps.sessions.attach(
      sessionKey,
      { channelType, channelId: msg.channelId, upstream: `${target.host}:${target.port}`, transport },
      (reason) => live.splice?.close(reason),
    );
    deps.router.channelOpened(sessionKey, channelNo, channelType, target, decision.kind === 'join' && decision.toDestination);
    const toClient = channelType === ChannelType.MAIN ? mainFilter(deps, sessionKey) : undefined;
    const toGuest = display?.transform;
    if (display) {
      const set = deps.displays.get(sessionKey) ?? new Set();
      deps.displays.set(sessionKey, set);
      set.add({ guard: display.guard, upstream });
    }
    live.splice = spliceChannel(client, upstream, {
      toClientBuckets: () => deps.policies.buckets(sessionKey, channelType, 'toClient'),
      toGuestBuckets: () => deps.policies.buckets(sessionKey, channelType, 'toGuest'),
      onBytes: (toC, toG) => deps.sessions.count(sessionKey, channelNo, toC, toG),
      toClient,
      toGuest,
      closeUpstream: () => dropUpstream(),
      onClose: (reason) => {
        phase = 'closed';
        const set = deps.displays.get(sessionKey);
        for (const d of set ?? []) if (d.upstream === upstream) set!.delete(d);
        if (set?.size === 0) deps.displays.delete(sessionKey);
        deps.log('channel.closed', { source, channelType, session: sessionKey, reason });
        deps.router.channelClosed(sessionKey, channelNo);
        deps.sessions.detach(sessionKey, channelNo, reason);
      },
    });
    // Bytes that came with the link result / after the ticket go first, through the same filters.
    if (first.length > 0) (toClient ?? client).write(first);
    if (remainder.length > 0) (toGuest ?? upstream).write(remainder);
  };

  const onMessage = (m: ClientLinkMessage): void => {
    if (m.kind === 'linkMessage') onLinkMessage(m);
    else if (m.kind === 'authMechanism') mechanism = m.mechanism;
    else {
      // Ticket in: stop reading until the upstream is linked (bytes after it are kept).
      client.pause();
      client.removeListener('data', onData);
      const remainder = decoder.takeRemainder();
      chain = chain.then(() => onTicket(m.encrypted, remainder)).catch((err: Error) => close(`internal: ${err.message}`));
    }
  };

  function onData(chunk: Buffer): void {
    try {
      for (const m of decoder.feed(chunk)) {
        if (phase === 'closed') return;
        onMessage(m);
      }
      if (decoder.isDone && phase === 'auth' && mechanism !== AuthMechanism.SPICE) refuse(LinkError.PERMISSION_DENIED, 'SASL not supported');
    } catch (err) {
      if (err instanceof SpiceLinkError) refuse(err.linkError, err.code);
      else close(`internal: ${(err as Error).message}`);
    }
  }

  client.on('data', onData);
  client.on('error', () => close('client error'));
  client.on('close', () => close('client closed'));
}

/**
 * A TCP listener running handleClient on every connection. With `tls` it is a SPICE TLS
 * port: TLS from the first byte (as spice-server's tls-port), then the same link inside it.
 */
export function createLinkServer(deps: LinkServerDeps, opts: { tls?: FrontTls } = {}): Server {
  const context = opts.tls && frontContext(opts.tls);
  return createServer((socket) => {
    socket.setNoDelay(true);
    const source = socket.remoteAddress ?? 'unknown';
    if (context === undefined) return handleClient(socket, deps, { source, transport: 'tcp' });
    handleClient(acceptTls(socket, context, deps.log, 'tls'), deps, { source, transport: 'tls' });
  });
}
