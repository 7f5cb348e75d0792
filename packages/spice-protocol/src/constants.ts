/**
 * Wire constants of the SPICE link phase (spice-protocol 0.14, protocol 2.2).
 * Every multi-byte integer on the wire is little-endian.
 */

/** "REDQ" read as a little-endian uint32: the first four bytes of every link header. */
export const SPICE_MAGIC = 0x51444552;
export const SPICE_MAGIC_BYTES = Buffer.from('REDQ', 'latin1');

export const SPICE_VERSION_MAJOR = 2;
export const SPICE_VERSION_MINOR = 2;

export const ChannelType = {
  MAIN: 1,
  DISPLAY: 2,
  INPUTS: 3,
  CURSOR: 4,
  PLAYBACK: 5,
  RECORD: 6,
  TUNNEL: 7,
  SMARTCARD: 8,
  USBREDIR: 9,
  PORT: 10,
  WEBDAV: 11,
} as const;
export type ChannelType = (typeof ChannelType)[keyof typeof ChannelType];

/** Codes carried by the link reply's `error` field and by the 4-byte link result. */
export const LinkError = {
  OK: 0,
  ERROR: 1,
  INVALID_MAGIC: 2,
  INVALID_DATA: 3,
  VERSION_MISMATCH: 4,
  NEED_SECURED: 5,
  NEED_UNSECURED: 6,
  PERMISSION_DENIED: 7,
  BAD_CONNECTION_ID: 8,
  CHANNEL_NOT_AVAILABLE: 9,
} as const;
export type LinkErrorCode = (typeof LinkError)[keyof typeof LinkError];

/** Capability numbers shared by every channel (bit N of the common-caps bitmap). */
export const CommonCap = {
  AUTH_SELECTION: 0,
  AUTH_SPICE: 1,
  AUTH_SASL: 2,
  MINI_HEADER: 3,
} as const;

/** Values of the 4-byte auth mechanism a client sends when both sides use AUTH_SELECTION. */
export const AuthMechanism = {
  SPICE: 1,
  SASL: 2,
} as const;

/** Link header: magic, major, minor, size (of what follows). */
export const LINK_HEADER_SIZE = 16;
/** Fixed part of SpiceLinkMess: connection_id u32, channel_type u8, channel_id u8, 3 × u32. */
export const LINK_MESS_FIXED_SIZE = 18;
/** The server's RSA-1024 public key as SubjectPublicKeyInfo DER (1024 / 8 + 34). */
export const TICKET_PUBKEY_BYTES = 162;
/** Fixed part of SpiceLinkReply: error u32, pub_key[162], 3 × u32. */
export const LINK_REPLY_FIXED_SIZE = 4 + TICKET_PUBKEY_BYTES + 12;
/** An RSA-1024 ciphertext: the encrypted ticket the client sends. */
export const ENCRYPTED_TICKET_SIZE = 128;
export const AUTH_MECHANISM_SIZE = 4;
export const LINK_RESULT_SIZE = 4;
/** spice-protocol's SPICE_MAX_PASSWORD_LENGTH, in bytes (UTF-8), without the trailing NUL. */
export const MAX_PASSWORD_BYTES = 60;
/**
 * Longest password spice-server can actually match: it stores the password in a
 * 60-byte C buffer including the NUL, silently cutting a 60-byte one to 59 (measured
 * with QEMU 7.2 / spice-server 0.15.1: the 60-byte password is refused with 7, its
 * first 59 bytes are accepted). Whoever SETS passwords should stay within this.
 */
export const SERVER_MAX_PASSWORD_BYTES = 59;

/**
 * Largest link body we accept. spice-server refuses link messages over 4096 bytes
 * (to stop clients from making it allocate at will); using the same bound keeps a
 * gateway no more permissive than the server behind it. 4096 bytes still leaves room
 * for ~1000 capability words, far beyond the handful defined today.
 */
export const DEFAULT_MAX_LINK_BODY_SIZE = 4096;
