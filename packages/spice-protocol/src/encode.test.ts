import { describe, expect, it } from 'vitest';
import {
  AuthMechanism,
  ChannelType,
  CommonCap,
  LINK_REPLY_FIXED_SIZE,
  LinkError,
  SpiceLinkError,
  TICKET_PUBKEY_BYTES,
  capsToWords,
  decodeLinkMessage,
  decodeLinkReply,
  decodeLinkResult,
  encodeAuthMechanism,
  encodeLinkMessage,
  encodeLinkReply,
  encodeLinkResult,
  hasCap,
  wordsToCaps,
  type LinkMessage,
  type LinkReply,
} from './index';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('capability bitmaps', () => {
  it.each([
    [[], []],
    [[CommonCap.AUTH_SELECTION, CommonCap.MINI_HEADER], [0x9]],
    [[0, 1, 3], [0xb]],
    [[31], [0x80000000]],
    [[33], [0, 0x2]],
  ])('%j <-> %j', (caps, words) => {
    expect(capsToWords(caps)).toEqual(words);
    expect(wordsToCaps(words)).toEqual(caps);
  });

  it('hasCap treats missing words as zero', () => {
    expect(hasCap([0xd], CommonCap.AUTH_SELECTION)).toBe(true);
    expect(hasCap([0xd], CommonCap.AUTH_SPICE)).toBe(false);
    expect(hasCap([0xd], 40)).toBe(false);
    expect(hasCap([], 0)).toBe(false);
  });

  it('rejects capability numbers that are not small non-negative integers', () => {
    expect(() => capsToWords([-1])).toThrow(RangeError);
    expect(() => capsToWords([1.5])).toThrow(RangeError);
  });
});

describe('encodeLinkMessage', () => {
  it('lays out header, fixed part and caps as spice-server reads them', () => {
    const bytes = encodeLinkMessage({
      connectionId: 0,
      channelType: ChannelType.MAIN,
      channelId: 0,
      commonCaps: [0x9],
      channelCaps: [],
    });
    expect(bytes).toEqual(
      hex(`52454451 02000000 02000000 16000000
           00000000 01 00 01000000 00000000 12000000
           09000000`),
    );
  });

  const messages: LinkMessage[] = [
    { connectionId: 0, channelType: ChannelType.MAIN, channelId: 0, commonCaps: [0xd], channelCaps: [0xf], minorVersion: 2 },
    { connectionId: 0xdeadbeef, channelType: ChannelType.DISPLAY, channelId: 3, commonCaps: [0xd], channelCaps: [0x3bf], minorVersion: 2 },
    { connectionId: 1, channelType: ChannelType.WEBDAV, channelId: 255, commonCaps: [], channelCaps: [], minorVersion: 1 },
    { connectionId: 7, channelType: ChannelType.CURSOR, channelId: 0, commonCaps: [1, 2, 0xffffffff], channelCaps: [4, 5], minorVersion: 2 },
  ];
  it.each(messages)('round-trips %j', (msg) => {
    expect(decodeLinkMessage(encodeLinkMessage(msg))).toEqual(msg);
  });

  it.each([
    ['channelType 256', { channelType: 256 }],
    ['negative channelId', { channelId: -1 }],
    ['fractional connectionId', { connectionId: 1.5 }],
    ['connectionId over 32 bits', { connectionId: 2 ** 32 }],
    ['caps word over 32 bits', { commonCaps: [2 ** 32] }],
  ])('rejects %s', (_name, patch) => {
    const base: LinkMessage = { connectionId: 0, channelType: 1, channelId: 0, commonCaps: [], channelCaps: [] };
    expect(() => encodeLinkMessage({ ...base, ...patch })).toThrow(
      expect.objectContaining({ code: 'SPICE_BAD_ARGUMENT', linkError: LinkError.ERROR }),
    );
  });
});

describe('encodeLinkReply', () => {
  const key = Buffer.alloc(TICKET_PUBKEY_BYTES, 0xab);

  it('round-trips an OK reply with caps', () => {
    const reply: LinkReply = { error: LinkError.OK, publicKey: key, commonCaps: [0xb], channelCaps: [0xf], minorVersion: 2 };
    const bytes = encodeLinkReply(reply);
    expect(bytes.length).toBe(16 + LINK_REPLY_FIXED_SIZE + 8);
    expect(bytes.readUInt32LE(12)).toBe(LINK_REPLY_FIXED_SIZE + 8);
    expect(decodeLinkReply(bytes)).toEqual(reply);
  });

  it('writes an error reply with a zero key, as spice-server does', () => {
    const bytes = encodeLinkReply({ error: LinkError.PERMISSION_DENIED, publicKey: Buffer.alloc(0), commonCaps: [], channelCaps: [] });
    expect(bytes.length).toBe(16 + LINK_REPLY_FIXED_SIZE);
    expect(decodeLinkReply(bytes)).toEqual({
      error: LinkError.PERMISSION_DENIED,
      publicKey: Buffer.alloc(TICKET_PUBKEY_BYTES),
      commonCaps: [],
      channelCaps: [],
      minorVersion: 2,
    });
  });

  it('writes a refusal byte for byte as spice-server 0.15.1 does (caps_offset 0, measured)', () => {
    const bytes = encodeLinkReply({ error: LinkError.INVALID_DATA, publicKey: Buffer.alloc(0), commonCaps: [], channelCaps: [] });
    const measured = Buffer.alloc(16 + LINK_REPLY_FIXED_SIZE);
    measured.write('REDQ', 0, 'latin1');
    measured.writeUInt32LE(2, 4);
    measured.writeUInt32LE(2, 8);
    measured.writeUInt32LE(LINK_REPLY_FIXED_SIZE, 12);
    measured.writeUInt32LE(LinkError.INVALID_DATA, 16);
    expect(bytes.toString('hex')).toBe(measured.toString('hex'));
    // An OK reply still points at its (empty) caps, as the server's does.
    const ok = encodeLinkReply({ error: LinkError.OK, publicKey: key, commonCaps: [], channelCaps: [] });
    expect(ok.readUInt32LE(ok.length - 4)).toBe(LINK_REPLY_FIXED_SIZE);
  });

  it('rejects a key that is not 162 bytes', () => {
    expect(() => encodeLinkReply({ error: 0, publicKey: Buffer.alloc(100), commonCaps: [], channelCaps: [] })).toThrow(SpiceLinkError);
  });
});

describe('4-byte messages', () => {
  it('auth mechanism and link result are little-endian u32s', () => {
    expect(encodeAuthMechanism(AuthMechanism.SPICE)).toEqual(hex('01000000'));
    expect(encodeLinkResult(LinkError.PERMISSION_DENIED)).toEqual(hex('07000000'));
    expect(decodeLinkResult(hex('07000000'))).toBe(7);
    expect(decodeLinkResult(encodeLinkResult(0))).toBe(0);
  });

  it('a short link result is truncated', () => {
    expect(() => decodeLinkResult(hex('0700'))).toThrow(expect.objectContaining({ code: 'SPICE_TRUNCATED', linkError: 3 }));
  });
});
