import { connect } from 'node:net';
import {
  AuthMechanism,
  ChannelType,
  CommonCap,
  LinkError,
  ServerLinkDecoder,
  capsToWords,
  encodeAuthMechanism,
  encodeLinkMessage,
  encryptTicket,
  hasCap,
} from '@deskplane/spice-protocol';
import { DependencyUnavailableError } from '../errors';

export interface SpiceLinkProbeOptions {
  host: string;
  port: number;
  password: string;
  /** Whole handshake, connect included. Default 5000. spice-server itself never times out. */
  timeoutMs?: number;
  /** Default MAIN. Other types link with connection_id 0, which only MAIN may use. */
  channelType?: number;
  /** Default 0 (a new session). Secondary channels link with the session id from MAIN_INIT. */
  connectionId?: number;
}

export interface SpiceLinkProbeResult {
  /** 0 = linked; otherwise the link error: 7 = wrong password (from the link result or the reply). */
  result: number;
  /** The server's capability bitmap words from its link reply (empty if it sent none). */
  serverCaps: { common: number[]; channel: number[] };
}

const DEFAULT_TIMEOUT_MS = 5_000;
// What remote-viewer advertises for itself, minus SASL: the probe only speaks tickets.
const CLIENT_COMMON_CAPS = capsToWords([CommonCap.AUTH_SELECTION, CommonCap.MINI_HEADER]);

/** The link message the probe sends: remote-viewer's common caps minus SASL. */
export function clientLinkMessage(channelType: number = ChannelType.MAIN, connectionId = 0): Buffer {
  return encodeLinkMessage({ connectionId, channelType, channelId: 0, commonCaps: CLIENT_COMMON_CAPS, channelCaps: [] });
}

/**
 * What a client sends after an OK link reply: the auth mechanism (only if the server
 * offers AUTH_SELECTION — spice-gtk's rule) and the password encrypted to the server's key.
 */
export function ticketAnswer(reply: { commonCaps: number[]; publicKey: Buffer }, password: string): Buffer[] {
  const ticket = encryptTicket(password, reply.publicKey);
  return hasCap(reply.commonCaps, CommonCap.AUTH_SELECTION) ? [encodeAuthMechanism(AuthMechanism.SPICE), ticket] : [ticket];
}

/**
 * Links one SPICE channel the way a real client does (link message → reply → auth
 * mechanism → RSA ticket → link result) and reports the result code. Resolves for any
 * answer the server gives, including refusals; rejects with DependencyUnavailableError
 * when nothing usable answers (refused, reset, closed early, silent past timeoutMs) and
 * with SpiceLinkError when the server's bytes break the protocol or the password cannot
 * be sent. The socket is closed whatever happens.
 */
export function probeSpiceLink(opts: SpiceLinkProbeOptions): Promise<SpiceLinkProbeResult> {
  const { host, port, password } = opts;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const part = `SPICE server at ${host}:${port}`;
  const decoder = new ServerLinkDecoder();
  let serverCaps: SpiceLinkProbeResult['serverCaps'] = { common: [], channel: [] };

  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let settled = false;
    const finish = (outcome: number | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (typeof outcome === 'number') resolve({ result: outcome, serverCaps });
      else reject(outcome);
    };
    const timer = setTimeout(
      () => finish(new DependencyUnavailableError(part, `no complete link answer within ${timeoutMs} ms (${decoder.currentState})`)),
      timeoutMs,
    );

    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(clientLinkMessage(opts.channelType, opts.connectionId));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const msg of decoder.feed(chunk)) {
          if (msg.kind === 'linkResult') return finish(msg.result);
          serverCaps = { common: msg.commonCaps, channel: msg.channelCaps };
          if (msg.error !== LinkError.OK) return finish(msg.error);
          for (const b of ticketAnswer(msg, password)) socket.write(b);
        }
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
      finish(new DependencyUnavailableError(part, why));
    });
    socket.on('close', () => {
      finish(new DependencyUnavailableError(part, `closed the connection during the link handshake (${decoder.currentState})`));
    });
  });
}
