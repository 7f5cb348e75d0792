import { hasCap } from './caps';
import {
  AUTH_MECHANISM_SIZE,
  AuthMechanism,
  CommonCap,
  DEFAULT_MAX_LINK_BODY_SIZE,
  ENCRYPTED_TICKET_SIZE,
  LINK_HEADER_SIZE,
  LINK_MESS_FIXED_SIZE,
  LINK_REPLY_FIXED_SIZE,
  LINK_RESULT_SIZE,
  LinkError,
  SPICE_MAGIC,
  SPICE_VERSION_MAJOR,
  TICKET_PUBKEY_BYTES,
} from './constants';
import { SpiceLinkError } from './errors';
import type { ClientLinkMessage, LinkMessage, LinkReply, ServerLinkMessage } from './messages';
import { StagedDecoder } from './staged-decoder';

export interface LinkDecoderOptions {
  /** Largest link body accepted, in bytes. Default 4096, spice-server's own bound. */
  maxBodySize?: number;
}

export interface ClientLinkDecoderOptions extends LinkDecoderOptions {
  /**
   * Whether a 4-byte auth mechanism precedes the ticket. Default: decided by the link
   * message itself (its AUTH_SELECTION common cap), which is spice-server's rule.
   */
  expectAuthMechanism?: boolean;
}

function checkedMaxBody(opts: LinkDecoderOptions, fixedSize: number): number {
  const max = opts.maxBodySize ?? DEFAULT_MAX_LINK_BODY_SIZE;
  if (!Number.isInteger(max) || max < fixedSize) {
    throw new SpiceLinkError('SPICE_BAD_ARGUMENT', `maxBodySize must be an integer >= ${fixedSize}, got ${max}`);
  }
  return max;
}

/**
 * Validates a link header and returns the body size it announces. The size is checked
 * here, before any state that would wait for that many bytes exists.
 */
function parseHeader(bytes: Buffer, minBody: number, maxBody: number): { minorVersion: number; bodySize: number } {
  const magic = bytes.readUInt32LE(0);
  if (magic !== SPICE_MAGIC) {
    throw new SpiceLinkError('SPICE_BAD_MAGIC', `bad magic 0x${magic.toString(16).padStart(8, '0')}, expected "REDQ"`);
  }
  const major = bytes.readUInt32LE(4);
  if (major !== SPICE_VERSION_MAJOR) {
    throw new SpiceLinkError('SPICE_VERSION_MISMATCH', `protocol major version ${major}, only ${SPICE_VERSION_MAJOR} is supported`);
  }
  const bodySize = bytes.readUInt32LE(12);
  if (bodySize < minBody) {
    throw new SpiceLinkError('SPICE_BODY_TOO_SMALL', `link body of ${bodySize} bytes is smaller than its fixed part (${minBody})`);
  }
  if (bodySize > maxBody) {
    throw new SpiceLinkError('SPICE_BODY_TOO_LARGE', `link body of ${bodySize} bytes exceeds the limit of ${maxBody}`);
  }
  return { minorVersion: bytes.readUInt32LE(8), bodySize };
}

/**
 * Reads num_common_caps, num_channel_caps and caps_offset at `countsAt` and the caps
 * they describe. All arithmetic is on JS numbers (no 32-bit wrap-around), and the
 * counts are proven to fit inside `body` before a single word is read, so a claim of
 * 0xFFFFFFFF caps costs nothing but an error.
 */
function parseCaps(body: Buffer, countsAt: number, fixedSize: number): { commonCaps: number[]; channelCaps: number[] } {
  const numCommon = body.readUInt32LE(countsAt);
  const numChannel = body.readUInt32LE(countsAt + 4);
  const capsOffset = body.readUInt32LE(countsAt + 8);
  const total = numCommon + numChannel;
  // Like spice-server, the offset only matters when there is something to read.
  if (total === 0) return { commonCaps: [], channelCaps: [] };
  if (capsOffset < fixedSize || capsOffset + 4 * total > body.length) {
    throw new SpiceLinkError(
      'SPICE_BAD_CAPS',
      `${numCommon} common + ${numChannel} channel caps at offset ${capsOffset} do not fit in a ${body.length}-byte body`,
    );
  }
  const words = (from: number, count: number): number[] =>
    Array.from({ length: count }, (_, i) => body.readUInt32LE(from + 4 * i));
  return {
    commonCaps: words(capsOffset, numCommon),
    channelCaps: words(capsOffset + 4 * numCommon, numChannel),
  };
}

type ClientState = 'header' | 'linkBody' | 'authMechanism' | 'ticket';

/**
 * Decodes what a client sends during the link phase: link header → SpiceLinkMess →
 * (auth mechanism, if negotiated) → encrypted ticket → done. This is the gateway's
 * side. A SASL auth mechanism ends the phase: the SASL exchange is not decoded here.
 */
export class ClientLinkDecoder extends StagedDecoder<ClientState, ClientLinkMessage> {
  private readonly maxBody: number;
  private bodySize = 0;
  private minorVersion = 0;

  constructor(private readonly opts: ClientLinkDecoderOptions = {}) {
    super('header');
    this.maxBody = checkedMaxBody(opts, LINK_MESS_FIXED_SIZE);
  }

  protected need(state: ClientState): number {
    switch (state) {
      case 'header':
        return LINK_HEADER_SIZE;
      case 'linkBody':
        return this.bodySize;
      case 'authMechanism':
        return AUTH_MECHANISM_SIZE;
      case 'ticket':
        return ENCRYPTED_TICKET_SIZE;
    }
  }

  protected step(state: ClientState, bytes: Buffer): { message?: ClientLinkMessage; next: ClientState | 'done' } {
    switch (state) {
      case 'header': {
        const header = parseHeader(bytes, LINK_MESS_FIXED_SIZE, this.maxBody);
        this.bodySize = header.bodySize;
        this.minorVersion = header.minorVersion;
        return { next: 'linkBody' };
      }
      case 'linkBody': {
        const message: LinkMessage = {
          connectionId: bytes.readUInt32LE(0),
          channelType: bytes.readUInt8(4),
          channelId: bytes.readUInt8(5),
          ...parseCaps(bytes, 6, LINK_MESS_FIXED_SIZE),
          minorVersion: this.minorVersion,
        };
        const selection = this.opts.expectAuthMechanism ?? hasCap(message.commonCaps, CommonCap.AUTH_SELECTION);
        return { message: { kind: 'linkMessage', ...message }, next: selection ? 'authMechanism' : 'ticket' };
      }
      case 'authMechanism': {
        const mechanism = bytes.readUInt32LE(0);
        if (mechanism !== AuthMechanism.SPICE && mechanism !== AuthMechanism.SASL) {
          throw new SpiceLinkError('SPICE_BAD_AUTH_MECHANISM', `unknown auth mechanism ${mechanism}`);
        }
        return { message: { kind: 'authMechanism', mechanism }, next: mechanism === AuthMechanism.SPICE ? 'ticket' : 'done' };
      }
      case 'ticket':
        return { message: { kind: 'ticket', encrypted: Buffer.from(bytes) }, next: 'done' };
    }
  }
}

type ServerState = 'header' | 'replyBody' | 'linkResult';

/**
 * Decodes what a server sends during the link phase: link header → SpiceLinkReply →
 * 4-byte link result → done. A reply carrying an error is final (the server closes),
 * so the decoder is done right after it. This is the client's (probe's) side.
 */
export class ServerLinkDecoder extends StagedDecoder<ServerState, ServerLinkMessage> {
  private readonly maxBody: number;
  private bodySize = 0;
  private minorVersion = 0;

  constructor(opts: LinkDecoderOptions = {}) {
    super('header');
    this.maxBody = checkedMaxBody(opts, LINK_REPLY_FIXED_SIZE);
  }

  protected need(state: ServerState): number {
    switch (state) {
      case 'header':
        return LINK_HEADER_SIZE;
      case 'replyBody':
        return this.bodySize;
      case 'linkResult':
        return LINK_RESULT_SIZE;
    }
  }

  protected step(state: ServerState, bytes: Buffer): { message?: ServerLinkMessage; next: ServerState | 'done' } {
    switch (state) {
      case 'header': {
        const header = parseHeader(bytes, LINK_REPLY_FIXED_SIZE, this.maxBody);
        this.bodySize = header.bodySize;
        this.minorVersion = header.minorVersion;
        return { next: 'replyBody' };
      }
      case 'replyBody': {
        const reply: LinkReply = {
          error: bytes.readUInt32LE(0),
          publicKey: Buffer.from(bytes.subarray(4, 4 + TICKET_PUBKEY_BYTES)),
          ...parseCaps(bytes, 4 + TICKET_PUBKEY_BYTES, LINK_REPLY_FIXED_SIZE),
          minorVersion: this.minorVersion,
        };
        return { message: { kind: 'linkReply', ...reply }, next: reply.error === LinkError.OK ? 'linkResult' : 'done' };
      }
      case 'linkResult':
        return { message: { kind: 'linkResult', result: bytes.readUInt32LE(0) }, next: 'done' };
    }
  }
}

/** One-shot: a complete link header + SpiceLinkMess in `buf` (trailing bytes ignored). */
export function decodeLinkMessage(buf: Buffer, opts: LinkDecoderOptions = {}): LinkMessage {
  const first = new ClientLinkDecoder(opts).feed(buf)[0];
  if (first?.kind !== 'linkMessage') {
    throw new SpiceLinkError('SPICE_TRUNCATED', `link message incomplete: ${buf.length} bytes`);
  }
  const { kind: _kind, ...message } = first;
  return message;
}

/** One-shot: a complete link header + SpiceLinkReply in `buf` (trailing bytes ignored). */
export function decodeLinkReply(buf: Buffer, opts: LinkDecoderOptions = {}): LinkReply {
  const first = new ServerLinkDecoder(opts).feed(buf)[0];
  if (first?.kind !== 'linkReply') {
    throw new SpiceLinkError('SPICE_TRUNCATED', `link reply incomplete: ${buf.length} bytes`);
  }
  const { kind: _kind, ...reply } = first;
  return reply;
}

/** One-shot: the 4-byte link result (a LinkError code; 0 = OK). */
export function decodeLinkResult(buf: Buffer): number {
  if (buf.length < LINK_RESULT_SIZE) {
    throw new SpiceLinkError('SPICE_TRUNCATED', `link result needs ${LINK_RESULT_SIZE} bytes, got ${buf.length}`);
  }
  return buf.readUInt32LE(0);
}
