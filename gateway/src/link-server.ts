import { createServer, type Server } from 'node:net';
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
import { andWords, isSubset, type CapsBook } from './caps-book';
import type { FailureLimiter } from './rate-limit';
import { linkUpstream, readMainInit, splice } from './relay';
import { checkBinding, type TicketRecord, type TicketStore } from './tickets';

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
    phase = 'closed';
    clearTimeout(timer);
    client.end(() => client.destroy());
    setTimeout(() => client.destroy(), 1_000).unref();
  };
  const timer = setTimeout(() => close('handshake timeout', { ms: budgetMs }), budgetMs);

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
    let record: TicketRecord | undefined;
    try {
      record = await deps.tickets.redeem(decryptTicket(encrypted, deps.keyPair.privateKey).toString('utf8'));
    } catch {
      record = undefined;
    }
    if (phase === 'closed') return;
    if (record === undefined) {
      deps.limiter.recordFailure(source);
      return refuse(LinkError.PERMISSION_DENIED, 'unknown or expired ticket');
    }
    const binding = checkBinding(record, msg.channelType, msg.connectionId, ChannelType.MAIN);
    if (binding !== LinkError.OK) return refuse(binding, 'ticket not bound to this session');

    phase = 'upstream';
    const upstreamLink: LinkMessage = {
      connectionId: msg.connectionId,
      channelType: msg.channelType,
      channelId: msg.channelId,
      commonCaps: andWords(msg.commonCaps, promisedCommon),
      channelCaps: andWords(msg.channelCaps, promisedChannel),
    };
    const remaining = Math.max(1, budgetMs - (Date.now() - started));
    const up = await linkUpstream(record.upstream, upstreamLink, remaining, (reply) => {
      deps.caps.learn(msg.channelType, { common: reply.commonCaps, channel: reply.channelCaps });
      // What we promised must be what the guest has, or the two ends disagree on features.
      const ok = isSubset(upstreamLink.commonCaps, reply.commonCaps) && isSubset(upstreamLink.channelCaps, reply.channelCaps);
      return ok ? LinkError.OK : LinkError.ERROR;
    }).catch((err: Error) => err);
    if (up instanceof Error) return refuse(LinkError.ERROR, `upstream: ${up.message}`);
    if (up.result !== LinkError.OK || up.socket === undefined) return refuse(up.result, 'upstream refused the link');
    const upstream = up.socket;
    if (phase !== 'upstream') return void upstream.destroy();
    client.write(encodeLinkResult(LinkError.OK));

    let sessionId = msg.connectionId;
    let first = up.remainder;
    if (msg.channelType === ChannelType.MAIN) {
      const init = await readMainInit(upstream, up.remainder, Math.max(1, budgetMs - (Date.now() - started))).catch(
        (err: Error) => err,
      );
      if (init instanceof Error) {
        upstream.destroy();
        return close(`main: ${init.message}`);
      }
      sessionId = init.sessionId;
      first = init.bytes;
      if (!(await deps.tickets.bind(record.ticketHash, sessionId))) {
        upstream.destroy();
        return close('ticket already bound to another session');
      }
    }
    if (phase !== 'upstream') {
      upstream.destroy();
      if (msg.channelType === ChannelType.MAIN) void deps.tickets.unbind(record.ticketHash, sessionId);
      return;
    }
    phase = 'spliced';
    clearTimeout(timer);
    if (first.length > 0) client.write(first);
    if (remainder.length > 0) upstream.write(remainder);
    const ticketHash = record.ticketHash;
    deps.log('link.spliced', { source, transport, channelType: msg.channelType, sessionId, user: record.user, desktop: record.desktop });
    splice(client, upstream, () => {
      phase = 'closed';
      deps.log('channel.closed', { source, channelType: msg.channelType, sessionId });
      if (msg.channelType === ChannelType.MAIN) void deps.tickets.unbind(ticketHash, sessionId);
    });
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

/** A TCP listener running handleClient on every connection. */
export function createLinkServer(deps: LinkServerDeps): Server {
  return createServer((socket) => {
    socket.setNoDelay(true);
    handleClient(socket, deps, { source: socket.remoteAddress ?? 'unknown', transport: 'tcp' });
  });
}
