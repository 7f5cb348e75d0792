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

// ---------------------------------------------------------------------------------------
// Channel phase: everything after the link result. Numbers checked against spice-protocol's
// spice/enums.h (generated from spice-common's spice.proto) and spice/protocol.h.
// ---------------------------------------------------------------------------------------

/** SpiceMiniDataHeader (spice/protocol.h): type u16, size u32 (size of the body only). */
export const MINI_HEADER_SIZE = 6;

/**
 * Default hard limit on one message body, for a MiniFrameDecoder that parses a channel
 * message by message (main). The largest main-channel message seen in practice is the
 * server's bandwidth probe, a PING carrying 250 KiB (spice-server NET_TEST_BYTES); agent
 * data arrives in chunks of at most 2 KiB. 1 MiB leaves 4x room. Display, cursor and
 * usbredir traffic should go through MiniFrameScanner, which buffers nothing.
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

/**
 * Default sanity limit for MiniFrameScanner (it never buffers a body, so this only
 * catches a desynchronised stream): 256 MiB, above an uncompressed 8K frame (~127 MiB).
 */
export const DEFAULT_MAX_SCANNED_MESSAGE_SIZE = 256 * 1024 * 1024;

/** Server → client messages every channel shares (enums.h SPICE_MSG_*). */
export const BaseServerMessage = {
  /** SPICE_MSG_MIGRATE */
  MIGRATE: 1,
  /** SPICE_MSG_MIGRATE_DATA */
  MIGRATE_DATA: 2,
  /** SPICE_MSG_SET_ACK */
  SET_ACK: 3,
  /** SPICE_MSG_PING */
  PING: 4,
  /** SPICE_MSG_WAIT_FOR_CHANNELS */
  WAIT_FOR_CHANNELS: 5,
  /** SPICE_MSG_DISCONNECTING */
  DISCONNECTING: 6,
  /** SPICE_MSG_NOTIFY */
  NOTIFY: 7,
  /** SPICE_MSG_LIST */
  LIST: 8,
} as const;

/** Client → server messages every channel shares (enums.h SPICE_MSGC_*). */
export const BaseClientMessage = {
  /** SPICE_MSGC_ACK_SYNC */
  ACK_SYNC: 1,
  /** SPICE_MSGC_ACK */
  ACK: 2,
  /** SPICE_MSGC_PONG */
  PONG: 3,
  /** SPICE_MSGC_MIGRATE_FLUSH_MARK */
  MIGRATE_FLUSH_MARK: 4,
  /** SPICE_MSGC_MIGRATE_DATA */
  MIGRATE_DATA: 5,
  /** SPICE_MSGC_DISCONNECTING */
  DISCONNECTING: 6,
} as const;

/** Main channel, server → client (enums.h SPICE_MSG_MAIN_*). */
export const MainServerMessage = {
  /** SPICE_MSG_MAIN_MIGRATE_BEGIN: SpiceMsgMainMigrationBegin (DstInfo) */
  MIGRATE_BEGIN: 101,
  /** SPICE_MSG_MAIN_MIGRATE_CANCEL: empty */
  MIGRATE_CANCEL: 102,
  /** SPICE_MSG_MAIN_INIT: SpiceMsgMainInit */
  INIT: 103,
  /** SPICE_MSG_MAIN_CHANNELS_LIST: SpiceMsgChannels */
  CHANNELS_LIST: 104,
  /** SPICE_MSG_MAIN_MOUSE_MODE */
  MOUSE_MODE: 105,
  /** SPICE_MSG_MAIN_MULTI_MEDIA_TIME */
  MULTI_MEDIA_TIME: 106,
  /** SPICE_MSG_MAIN_AGENT_CONNECTED */
  AGENT_CONNECTED: 107,
  /** SPICE_MSG_MAIN_AGENT_DISCONNECTED */
  AGENT_DISCONNECTED: 108,
  /** SPICE_MSG_MAIN_AGENT_DATA */
  AGENT_DATA: 109,
  /** SPICE_MSG_MAIN_AGENT_TOKEN */
  AGENT_TOKEN: 110,
  /** SPICE_MSG_MAIN_MIGRATE_SWITCH_HOST: SpiceMsgMainMigrationSwitchHost */
  MIGRATE_SWITCH_HOST: 111,
  /** SPICE_MSG_MAIN_MIGRATE_END: empty */
  MIGRATE_END: 112,
  /** SPICE_MSG_MAIN_NAME */
  NAME: 113,
  /** SPICE_MSG_MAIN_UUID */
  UUID: 114,
  /** SPICE_MSG_MAIN_AGENT_CONNECTED_TOKENS */
  AGENT_CONNECTED_TOKENS: 115,
  /** SPICE_MSG_MAIN_MIGRATE_BEGIN_SEAMLESS: SpiceMsgMainMigrateBeginSeamless (DstInfo + src_mig_version) */
  MIGRATE_BEGIN_SEAMLESS: 116,
  /** SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_ACK: empty */
  MIGRATE_DST_SEAMLESS_ACK: 117,
  /** SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_NACK: empty */
  MIGRATE_DST_SEAMLESS_NACK: 118,
} as const;

/** Main channel, client → server (enums.h SPICE_MSGC_MAIN_*). */
export const MainClientMessage = {
  /** SPICE_MSGC_MAIN_CLIENT_INFO */
  CLIENT_INFO: 101,
  /** SPICE_MSGC_MAIN_MIGRATE_CONNECTED: empty */
  MIGRATE_CONNECTED: 102,
  /** SPICE_MSGC_MAIN_MIGRATE_CONNECT_ERROR: empty */
  MIGRATE_CONNECT_ERROR: 103,
  /** SPICE_MSGC_MAIN_ATTACH_CHANNELS: empty */
  ATTACH_CHANNELS: 104,
  /** SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST */
  MOUSE_MODE_REQUEST: 105,
  /** SPICE_MSGC_MAIN_AGENT_START */
  AGENT_START: 106,
  /** SPICE_MSGC_MAIN_AGENT_DATA */
  AGENT_DATA: 107,
  /** SPICE_MSGC_MAIN_AGENT_TOKEN */
  AGENT_TOKEN: 108,
  /** SPICE_MSGC_MAIN_MIGRATE_END: empty */
  MIGRATE_END: 109,
  /** SPICE_MSGC_MAIN_MIGRATE_DST_DO_SEAMLESS: src_version u32 */
  MIGRATE_DST_DO_SEAMLESS: 110,
  /** SPICE_MSGC_MAIN_MIGRATE_CONNECTED_SEAMLESS: empty */
  MIGRATE_CONNECTED_SEAMLESS: 111,
} as const;

/** Display channel, client → server (enums.h SPICE_MSGC_DISPLAY_*). */
export const DisplayClientMessage = {
  /** SPICE_MSGC_DISPLAY_INIT: SpiceMsgcDisplayInit */
  INIT: 101,
  /** SPICE_MSGC_DISPLAY_STREAM_REPORT */
  STREAM_REPORT: 102,
  /** SPICE_MSGC_DISPLAY_PREFERRED_COMPRESSION */
  PREFERRED_COMPRESSION: 103,
  /** SPICE_MSGC_DISPLAY_GL_DRAW_DONE */
  GL_DRAW_DONE: 104,
  /** SPICE_MSGC_DISPLAY_PREFERRED_VIDEO_CODEC_TYPE */
  PREFERRED_VIDEO_CODEC_TYPE: 105,
} as const;

/** Main channel capabilities (protocol.h SPICE_MAIN_CAP_*), bit N of the channel caps. */
export const MainCap = {
  SEMI_SEAMLESS_MIGRATE: 0,
  NAME_AND_UUID: 1,
  AGENT_CONNECTED_TOKENS: 2,
  SEAMLESS_MIGRATE: 3,
} as const;

/** Mouse mode flags (enums.h SpiceMouseMode), as in MAIN_INIT's mouse-mode fields. */
export const MouseMode = {
  SERVER: 1,
  CLIENT: 2,
} as const;

/**
 * Port value meaning "none" in migration destination info: QEMU passes -1 for a missing
 * plain or TLS port and the u16 field carries 0xffff.
 */
export const MIGRATE_NO_PORT = 0xffff;

/** SpiceMsgMainInit: eight u32 fields. */
export const MAIN_INIT_SIZE = 32;
/** SpiceMsgChannels fixed part: num_of_channels u32 (then 2 bytes per channel). */
export const CHANNELS_LIST_FIXED_SIZE = 4;
/**
 * SpiceMigrationDstInfo on the wire (spice.proto DstInfo; pointers are u32 offsets from the
 * start of the message body): port u16, sport u16, host_size u32, host_offset u32,
 * cert_subject_size u32, cert_subject_offset u32. MIGRATE_BEGIN and MIGRATE_SWITCH_HOST
 * are exactly this; MIGRATE_BEGIN_SEAMLESS adds src_mig_version u32.
 */
export const MIGRATION_DST_INFO_SIZE = 20;
export const MIGRATE_BEGIN_SEAMLESS_FIXED_SIZE = MIGRATION_DST_INFO_SIZE + 4;
/** SpiceMsgcMainMigrateDstDoSeamless: src_version u32. */
export const MIGRATE_DST_DO_SEAMLESS_SIZE = 4;
/** SpiceMsgcDisplayInit, packed: u8 + i64 + u8 + i32. */
export const DISPLAY_INIT_SIZE = 14;
