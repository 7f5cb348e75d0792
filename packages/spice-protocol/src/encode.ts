import {
  AUTH_MECHANISM_SIZE,
  LINK_HEADER_SIZE,
  LINK_MESS_FIXED_SIZE,
  LINK_REPLY_FIXED_SIZE,
  LINK_RESULT_SIZE,
  SPICE_MAGIC,
  SPICE_VERSION_MAJOR,
  SPICE_VERSION_MINOR,
  TICKET_PUBKEY_BYTES,
} from './constants';
import { SpiceLinkError } from './errors';
import type { LinkMessage, LinkReply } from './messages';

const UINT32_MAX = 0xffffffff;
const UINT8_MAX = 0xff;

function checkInt(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new SpiceLinkError('SPICE_BAD_ARGUMENT', `${name} must be an integer in 0..${max}, got ${value}`);
  }
}

function checkWords(name: string, words: readonly number[]): void {
  words.forEach((word, i) => checkInt(`${name}[${i}]`, word, UINT32_MAX));
}

function writeHeader(buf: Buffer, bodySize: number, minorVersion: number): void {
  buf.writeUInt32LE(SPICE_MAGIC, 0);
  buf.writeUInt32LE(SPICE_VERSION_MAJOR, 4);
  buf.writeUInt32LE(minorVersion, 8);
  buf.writeUInt32LE(bodySize, 12);
}

/**
 * Writes the three trailing u32s every link body shares (num_common_caps,
 * num_channel_caps, caps_offset) at `at`, and the caps right after the fixed part.
 */
function writeCaps(buf: Buffer, at: number, fixedSize: number, common: readonly number[], channel: readonly number[]): void {
  buf.writeUInt32LE(common.length, at);
  buf.writeUInt32LE(channel.length, at + 4);
  buf.writeUInt32LE(fixedSize, at + 8);
  let offset = LINK_HEADER_SIZE + fixedSize;
  for (const word of [...common, ...channel]) {
    buf.writeUInt32LE(word, offset);
    offset += 4;
  }
}

/** Link header + SpiceLinkMess + caps, as a client sends it, in one Buffer. */
export function encodeLinkMessage(msg: LinkMessage): Buffer {
  const minor = msg.minorVersion ?? SPICE_VERSION_MINOR;
  checkInt('connectionId', msg.connectionId, UINT32_MAX);
  checkInt('channelType', msg.channelType, UINT8_MAX);
  checkInt('channelId', msg.channelId, UINT8_MAX);
  checkInt('minorVersion', minor, UINT32_MAX);
  checkWords('commonCaps', msg.commonCaps);
  checkWords('channelCaps', msg.channelCaps);

  const bodySize = LINK_MESS_FIXED_SIZE + 4 * (msg.commonCaps.length + msg.channelCaps.length);
  const buf = Buffer.alloc(LINK_HEADER_SIZE + bodySize);
  writeHeader(buf, bodySize, minor);
  buf.writeUInt32LE(msg.connectionId, 16);
  buf.writeUInt8(msg.channelType, 20);
  buf.writeUInt8(msg.channelId, 21);
  writeCaps(buf, 22, LINK_MESS_FIXED_SIZE, msg.commonCaps, msg.channelCaps);
  return buf;
}

/**
 * Link header + SpiceLinkReply + caps, as a server sends it. For an error reply pass
 * an empty publicKey: the key field is then zeros, as spice-server sends it.
 */
export function encodeLinkReply(reply: LinkReply): Buffer {
  const minor = reply.minorVersion ?? SPICE_VERSION_MINOR;
  checkInt('error', reply.error, UINT32_MAX);
  checkInt('minorVersion', minor, UINT32_MAX);
  checkWords('commonCaps', reply.commonCaps);
  checkWords('channelCaps', reply.channelCaps);
  if (reply.publicKey.length !== TICKET_PUBKEY_BYTES && reply.publicKey.length !== 0) {
    throw new SpiceLinkError(
      'SPICE_BAD_ARGUMENT',
      `publicKey must be ${TICKET_PUBKEY_BYTES} bytes (RSA-1024 SubjectPublicKeyInfo DER), got ${reply.publicKey.length}`,
    );
  }

  const bodySize = LINK_REPLY_FIXED_SIZE + 4 * (reply.commonCaps.length + reply.channelCaps.length);
  const buf = Buffer.alloc(LINK_HEADER_SIZE + bodySize);
  writeHeader(buf, bodySize, minor);
  buf.writeUInt32LE(reply.error, 16);
  reply.publicKey.copy(buf, 20);
  writeCaps(buf, 20 + TICKET_PUBKEY_BYTES, LINK_REPLY_FIXED_SIZE, reply.commonCaps, reply.channelCaps);
  // spice-server zeroes the whole body of a refusal, caps_offset included: byte-for-byte parity.
  if (reply.error !== 0 && reply.commonCaps.length + reply.channelCaps.length === 0) buf.writeUInt32LE(0, buf.length - 4);
  return buf;
}

/** The 4-byte SpiceLinkAuthMechanism (AuthMechanism.SPICE = 1). */
export function encodeAuthMechanism(mechanism: number): Buffer {
  checkInt('mechanism', mechanism, UINT32_MAX);
  const buf = Buffer.alloc(AUTH_MECHANISM_SIZE);
  buf.writeUInt32LE(mechanism, 0);
  return buf;
}

/** The 4-byte link result a server sends after the ticket (LinkError code). */
export function encodeLinkResult(result: number): Buffer {
  checkInt('result', result, UINT32_MAX);
  const buf = Buffer.alloc(LINK_RESULT_SIZE);
  buf.writeUInt32LE(result, 0);
  return buf;
}
