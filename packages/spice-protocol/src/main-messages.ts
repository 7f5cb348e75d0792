import {
  CHANNELS_LIST_FIXED_SIZE,
  MAIN_INIT_SIZE,
  MIGRATE_BEGIN_SEAMLESS_FIXED_SIZE,
  MIGRATE_DST_DO_SEAMLESS_SIZE,
  MIGRATION_DST_INFO_SIZE,
  MainClientMessage,
  MainServerMessage,
} from './constants';
import { SpiceChannelError } from './errors';
import { encodeMiniFrame, type MiniFrame } from './mini-header';

/**
 * Main-channel messages the gateway reads or rewrites. Decoders take a message body (the
 * `payload` of a MiniFrame) and check every count, size and offset against its length
 * before reading or allocating anything; failures throw SpiceChannelError
 * `SPICE_INVALID_DATA`. Like spice's generated demarshallers, bytes after the fixed part
 * of a fixed-size message are ignored (newer peers may append fields).
 */

const UINT8_MAX = 0xff;
const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffffffff;

/** SpiceMsgMainInit (SPICE_MSG_MAIN_INIT, 103). */
export interface MainInit {
  /** Every secondary channel links with connection_id = this. */
  sessionId: number;
  displayChannelsHint: number;
  /** MouseMode flags. */
  supportedMouseModes: number;
  currentMouseMode: number;
  agentConnected: number;
  agentTokens: number;
  multiMediaTime: number;
  ramHint: number;
}

/** One entry of SpiceMsgChannels (SPICE_MSG_MAIN_CHANNELS_LIST, 104). */
export interface ChannelId {
  /** A ChannelType. */
  type: number;
  id: number;
}

/**
 * SpiceMigrationDstInfo: where the client should (pre-)connect for a migration. Carried
 * by MIGRATE_BEGIN (101), MIGRATE_BEGIN_SEAMLESS (116) and, with the same layout,
 * MIGRATE_SWITCH_HOST (111).
 */
export interface MigrationDstInfo {
  /** Plain port; MIGRATE_NO_PORT (0xffff) when there is none. */
  port: number;
  /** TLS port; MIGRATE_NO_PORT (0xffff) when there is none. */
  sport: number;
  host: string;
  /** TLS certificate subject to check, or null (the field is absent). */
  certSubject: string | null;
}

/** SpiceMsgMainMigrateBeginSeamless (116): DstInfo + the source's migration protocol version. */
export interface MigrateBeginSeamless extends MigrationDstInfo {
  srcMigVersion: number;
}

function invalid(what: string): SpiceChannelError {
  return new SpiceChannelError('SPICE_INVALID_DATA', what);
}

function checkInt(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new SpiceChannelError('SPICE_BAD_ARGUMENT', `${name} must be an integer in 0..${max}, got ${value}`);
  }
}

function requireSize(name: string, payload: Buffer, fixed: number): void {
  if (payload.length < fixed) throw invalid(`${name} needs at least ${fixed} bytes, got ${payload.length}`);
}

// ----- MAIN_INIT --------------------------------------------------------------------------

const MAIN_INIT_FIELDS = [
  'sessionId',
  'displayChannelsHint',
  'supportedMouseModes',
  'currentMouseMode',
  'agentConnected',
  'agentTokens',
  'multiMediaTime',
  'ramHint',
] as const satisfies readonly (keyof MainInit)[];

export function decodeMainInit(payload: Buffer): MainInit {
  requireSize('MAIN_INIT', payload, MAIN_INIT_SIZE);
  const init = {} as MainInit;
  MAIN_INIT_FIELDS.forEach((field, i) => {
    init[field] = payload.readUInt32LE(4 * i);
  });
  return init;
}

export function encodeMainInit(init: MainInit): Buffer {
  const buf = Buffer.alloc(MAIN_INIT_SIZE);
  MAIN_INIT_FIELDS.forEach((field, i) => {
    checkInt(field, init[field], UINT32_MAX);
    buf.writeUInt32LE(init[field], 4 * i);
  });
  return buf;
}

// ----- CHANNELS_LIST ----------------------------------------------------------------------

/** The count is proven to fit in the body before the array is created. */
export function decodeChannelsList(payload: Buffer): ChannelId[] {
  requireSize('CHANNELS_LIST', payload, CHANNELS_LIST_FIXED_SIZE);
  const count = payload.readUInt32LE(0);
  const available = (payload.length - CHANNELS_LIST_FIXED_SIZE) / 2;
  if (count > available) {
    throw invalid(`CHANNELS_LIST claims ${count} channels but its ${payload.length}-byte body holds at most ${Math.floor(available)}`);
  }
  const channels: ChannelId[] = new Array<ChannelId>(count);
  for (let i = 0; i < count; i++) {
    const at = CHANNELS_LIST_FIXED_SIZE + 2 * i;
    channels[i] = { type: payload.readUInt8(at), id: payload.readUInt8(at + 1) };
  }
  return channels;
}

export function encodeChannelsList(channels: readonly ChannelId[]): Buffer {
  const buf = Buffer.alloc(CHANNELS_LIST_FIXED_SIZE + 2 * channels.length);
  buf.writeUInt32LE(channels.length, 0);
  channels.forEach((c, i) => {
    checkInt(`channels[${i}].type`, c.type, UINT8_MAX);
    checkInt(`channels[${i}].id`, c.id, UINT8_MAX);
    buf.writeUInt8(c.type, CHANNELS_LIST_FIXED_SIZE + 2 * i);
    buf.writeUInt8(c.id, CHANNELS_LIST_FIXED_SIZE + 2 * i + 1);
  });
  return buf;
}

// ----- Migration destination info (101, 111, 116) -----------------------------------------

/**
 * Reads a NUL-terminated string that a u32 offset (from the start of the body) and a u32
 * size point at. The whole range must lie after the fixed part and inside the body, and
 * its last byte must be the NUL spice-server writes (size = strlen + 1). Like C, the
 * string ends at the first NUL.
 */
function readPointedString(payload: Buffer, name: string, offset: number, size: number, fixed: number): string {
  if (size === 0) throw invalid(`${name}: size 0 (a NUL-terminated string has at least 1 byte)`);
  if (offset < fixed || offset + size > payload.length) {
    throw invalid(`${name}: ${size} bytes at offset ${offset} are outside bytes ${fixed}..${payload.length} of the body`);
  }
  if (payload[offset + size - 1] !== 0) throw invalid(`${name}: not NUL-terminated`);
  const nul = payload.indexOf(0, offset);
  return payload.toString('utf8', offset, nul);
}

function decodeDstInfo(payload: Buffer, name: string, fixed: number): MigrationDstInfo {
  requireSize(name, payload, fixed);
  const hostSize = payload.readUInt32LE(4);
  const hostOffset = payload.readUInt32LE(8);
  const certSize = payload.readUInt32LE(12);
  const certOffset = payload.readUInt32LE(16);
  const host = readPointedString(payload, `${name} host`, hostOffset, hostSize, fixed);
  let certSubject: string | null = null;
  if (certSize > 0) {
    if (certOffset === 0) throw invalid(`${name} cert subject: ${certSize} bytes at a null offset`);
    certSubject = readPointedString(payload, `${name} cert subject`, certOffset, certSize, fixed);
  }
  return { port: payload.readUInt16LE(0), sport: payload.readUInt16LE(2), host, certSubject };
}

/** Lays out fixed part + host\0 + cert\0 the way spice-server's marshaller does. */
function encodeDstInfo(info: MigrationDstInfo, fixed: number): Buffer {
  checkInt('port', info.port, UINT16_MAX);
  checkInt('sport', info.sport, UINT16_MAX);
  const text = (name: string, value: string): Buffer => {
    if (value.includes('\0')) throw new SpiceChannelError('SPICE_BAD_ARGUMENT', `${name} must not contain NUL`);
    return Buffer.from(`${value}\0`, 'utf8');
  };
  if (info.host.length === 0) throw new SpiceChannelError('SPICE_BAD_ARGUMENT', 'host must not be empty');
  const host = text('host', info.host);
  const cert = info.certSubject === null ? Buffer.alloc(0) : text('certSubject', info.certSubject);
  const buf = Buffer.alloc(fixed + host.length + cert.length);
  buf.writeUInt16LE(info.port, 0);
  buf.writeUInt16LE(info.sport, 2);
  buf.writeUInt32LE(host.length, 4);
  buf.writeUInt32LE(fixed, 8);
  buf.writeUInt32LE(cert.length, 12);
  buf.writeUInt32LE(cert.length === 0 ? 0 : fixed + host.length, 16);
  host.copy(buf, fixed);
  cert.copy(buf, fixed + host.length);
  return buf;
}

const dstInfoOnly = (info: MigrationDstInfo): MigrationDstInfo => ({
  port: info.port,
  sport: info.sport,
  host: info.host,
  certSubject: info.certSubject,
});

/** SPICE_MSG_MAIN_MIGRATE_BEGIN (101), semi-seamless migration. */
export function decodeMigrateBegin(payload: Buffer): MigrationDstInfo {
  return decodeDstInfo(payload, 'MIGRATE_BEGIN', MIGRATION_DST_INFO_SIZE);
}

export function encodeMigrateBegin(info: MigrationDstInfo): Buffer {
  return encodeDstInfo(info, MIGRATION_DST_INFO_SIZE);
}

/** SPICE_MSG_MAIN_MIGRATE_BEGIN_SEAMLESS (116). */
export function decodeMigrateBeginSeamless(payload: Buffer): MigrateBeginSeamless {
  const info = decodeDstInfo(payload, 'MIGRATE_BEGIN_SEAMLESS', MIGRATE_BEGIN_SEAMLESS_FIXED_SIZE);
  return { ...info, srcMigVersion: payload.readUInt32LE(MIGRATION_DST_INFO_SIZE) };
}

export function encodeMigrateBeginSeamless(msg: MigrateBeginSeamless): Buffer {
  checkInt('srcMigVersion', msg.srcMigVersion, UINT32_MAX);
  const buf = encodeDstInfo(dstInfoOnly(msg), MIGRATE_BEGIN_SEAMLESS_FIXED_SIZE);
  buf.writeUInt32LE(msg.srcMigVersion, MIGRATION_DST_INFO_SIZE);
  return buf;
}

/** SPICE_MSG_MAIN_MIGRATE_SWITCH_HOST (111): same layout as MIGRATE_BEGIN. */
export function decodeMigrateSwitchHost(payload: Buffer): MigrationDstInfo {
  return decodeDstInfo(payload, 'MIGRATE_SWITCH_HOST', MIGRATION_DST_INFO_SIZE);
}

export function encodeMigrateSwitchHost(info: MigrationDstInfo): Buffer {
  return encodeDstInfo(info, MIGRATION_DST_INFO_SIZE);
}

/** SPICE_MSGC_MAIN_MIGRATE_DST_DO_SEAMLESS (110): the client's migration protocol version. */
export function decodeMigrateDstDoSeamless(payload: Buffer): { srcVersion: number } {
  requireSize('MIGRATE_DST_DO_SEAMLESS', payload, MIGRATE_DST_DO_SEAMLESS_SIZE);
  return { srcVersion: payload.readUInt32LE(0) };
}

export function encodeMigrateDstDoSeamless(srcVersion: number): Buffer {
  checkInt('srcVersion', srcVersion, UINT32_MAX);
  const buf = Buffer.alloc(MIGRATE_DST_DO_SEAMLESS_SIZE);
  buf.writeUInt32LE(srcVersion, 0);
  return buf;
}

// ----- Whole frames -----------------------------------------------------------------------

/** Server → client main messages the gateway reads or rewrites. */
export type MainServerMsg =
  | ({ kind: 'init' } & MainInit)
  | { kind: 'channelsList'; channels: ChannelId[] }
  | ({ kind: 'migrateBegin' } & MigrationDstInfo)
  | ({ kind: 'migrateBeginSeamless' } & MigrateBeginSeamless)
  | ({ kind: 'migrateSwitchHost' } & MigrationDstInfo)
  | { kind: 'migrateCancel' }
  | { kind: 'migrateEnd' }
  | { kind: 'migrateDstSeamlessAck' }
  | { kind: 'migrateDstSeamlessNack' };

/** Client → server main messages of the migration handshake. */
export type MainClientMsg =
  | { kind: 'migrateConnected' }
  | { kind: 'migrateConnectedSeamless' }
  | { kind: 'migrateConnectError' }
  | { kind: 'migrateEnd' }
  | { kind: 'migrateDstDoSeamless'; srcVersion: number };

const omitKind = <T extends { kind: string }>(msg: T): Omit<T, 'kind'> => {
  const { kind: _kind, ...rest } = msg;
  return rest;
};

/**
 * Decodes a main-channel frame from the server if it is one the gateway cares about;
 * returns undefined for every other type (forward those untouched).
 */
export function decodeMainServerMessage(frame: MiniFrame): MainServerMsg | undefined {
  const p = frame.payload;
  switch (frame.type) {
    case MainServerMessage.INIT:
      return { kind: 'init', ...decodeMainInit(p) };
    case MainServerMessage.CHANNELS_LIST:
      return { kind: 'channelsList', channels: decodeChannelsList(p) };
    case MainServerMessage.MIGRATE_BEGIN:
      return { kind: 'migrateBegin', ...decodeMigrateBegin(p) };
    case MainServerMessage.MIGRATE_BEGIN_SEAMLESS:
      return { kind: 'migrateBeginSeamless', ...decodeMigrateBeginSeamless(p) };
    case MainServerMessage.MIGRATE_SWITCH_HOST:
      return { kind: 'migrateSwitchHost', ...decodeMigrateSwitchHost(p) };
    case MainServerMessage.MIGRATE_CANCEL:
      return { kind: 'migrateCancel' };
    case MainServerMessage.MIGRATE_END:
      return { kind: 'migrateEnd' };
    case MainServerMessage.MIGRATE_DST_SEAMLESS_ACK:
      return { kind: 'migrateDstSeamlessAck' };
    case MainServerMessage.MIGRATE_DST_SEAMLESS_NACK:
      return { kind: 'migrateDstSeamlessNack' };
    default:
      return undefined;
  }
}

/** A whole mini frame (header + body) for a server → client main message. */
export function encodeMainServerMessage(msg: MainServerMsg): Buffer {
  switch (msg.kind) {
    case 'init':
      return encodeMiniFrame(MainServerMessage.INIT, encodeMainInit(omitKind(msg)));
    case 'channelsList':
      return encodeMiniFrame(MainServerMessage.CHANNELS_LIST, encodeChannelsList(msg.channels));
    case 'migrateBegin':
      return encodeMiniFrame(MainServerMessage.MIGRATE_BEGIN, encodeMigrateBegin(dstInfoOnly(msg)));
    case 'migrateBeginSeamless':
      return encodeMiniFrame(MainServerMessage.MIGRATE_BEGIN_SEAMLESS, encodeMigrateBeginSeamless(msg));
    case 'migrateSwitchHost':
      return encodeMiniFrame(MainServerMessage.MIGRATE_SWITCH_HOST, encodeMigrateSwitchHost(dstInfoOnly(msg)));
    case 'migrateCancel':
      return encodeMiniFrame(MainServerMessage.MIGRATE_CANCEL);
    case 'migrateEnd':
      return encodeMiniFrame(MainServerMessage.MIGRATE_END);
    case 'migrateDstSeamlessAck':
      return encodeMiniFrame(MainServerMessage.MIGRATE_DST_SEAMLESS_ACK);
    case 'migrateDstSeamlessNack':
      return encodeMiniFrame(MainServerMessage.MIGRATE_DST_SEAMLESS_NACK);
  }
}

/** Decodes a client → server main frame of the migration handshake; undefined for other types. */
export function decodeMainClientMessage(frame: MiniFrame): MainClientMsg | undefined {
  switch (frame.type) {
    case MainClientMessage.MIGRATE_CONNECTED:
      return { kind: 'migrateConnected' };
    case MainClientMessage.MIGRATE_CONNECTED_SEAMLESS:
      return { kind: 'migrateConnectedSeamless' };
    case MainClientMessage.MIGRATE_CONNECT_ERROR:
      return { kind: 'migrateConnectError' };
    case MainClientMessage.MIGRATE_END:
      return { kind: 'migrateEnd' };
    case MainClientMessage.MIGRATE_DST_DO_SEAMLESS:
      return { kind: 'migrateDstDoSeamless', ...decodeMigrateDstDoSeamless(frame.payload) };
    default:
      return undefined;
  }
}

/** A whole mini frame (header + body) for a client → server main message. */
export function encodeMainClientMessage(msg: MainClientMsg): Buffer {
  switch (msg.kind) {
    case 'migrateConnected':
      return encodeMiniFrame(MainClientMessage.MIGRATE_CONNECTED);
    case 'migrateConnectedSeamless':
      return encodeMiniFrame(MainClientMessage.MIGRATE_CONNECTED_SEAMLESS);
    case 'migrateConnectError':
      return encodeMiniFrame(MainClientMessage.MIGRATE_CONNECT_ERROR);
    case 'migrateEnd':
      return encodeMiniFrame(MainClientMessage.MIGRATE_END);
    case 'migrateDstDoSeamless':
      return encodeMiniFrame(MainClientMessage.MIGRATE_DST_DO_SEAMLESS, encodeMigrateDstDoSeamless(msg.srcVersion));
  }
}
