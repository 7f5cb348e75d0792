import { describe, expect, it } from 'vitest';
import {
  AuthMechanism,
  ChannelType,
  ClientLinkDecoder,
  LinkError,
  ServerLinkDecoder,
  SpiceLinkError,
  encodeAuthMechanism,
  encodeLinkMessage,
  encodeLinkReply,
  encodeLinkResult,
} from './index';

type Decoder = ClientLinkDecoder | ServerLinkDecoder;
type Outcome = { messages: unknown[]; remainder?: Buffer; error?: { code: string; linkError: number } };

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * Feeds `pieces` in order, then ends the stream; records what came out. Like socket
 * glue, once the decoder is done later pieces go to the next phase (the remainder).
 */
function run(make: () => Decoder, pieces: Buffer[]): Outcome {
  const decoder = make();
  const messages: unknown[] = [];
  const nextPhase: Buffer[] = [];
  try {
    for (const piece of pieces) {
      if (decoder.isDone) nextPhase.push(piece);
      else messages.push(...decoder.feed(piece));
    }
    decoder.end();
    return { messages, remainder: Buffer.concat([decoder.takeRemainder(), ...nextPhase]) };
  } catch (err) {
    if (!(err instanceof SpiceLinkError)) throw err;
    return { messages, error: { code: err.code, linkError: err.linkError } };
  }
}

/** The outcome must not depend on how TCP cut the bytes: whole, split at each byte, one by one. */
function expectSameAtEverySplit(make: () => Decoder, bytes: Buffer): Outcome {
  const whole = run(make, [bytes]);
  // Messages decoded before an error may differ with the split; the error itself may not.
  const comparable = (o: Outcome) => (o.error ? { error: o.error } : o);
  for (let at = 0; at <= bytes.length; at++) {
    expect(comparable(run(make, [bytes.subarray(0, at), bytes.subarray(at)])), `split at ${at}`).toEqual(comparable(whole));
  }
  const oneByOne = [...bytes].map((b) => Buffer.from([b]));
  expect(comparable(run(make, oneByOne)), 'byte by byte').toEqual(comparable(whole));
  return whole;
}

const client = () => new ClientLinkDecoder();
const server = () => new ServerLinkDecoder();

const mainLink = encodeLinkMessage({ connectionId: 0, channelType: ChannelType.MAIN, channelId: 0, commonCaps: [0xd], channelCaps: [0xf] });
const ticket = Buffer.alloc(128, 0x5a);

/** A real reply from QEMU 7.2 / spice-server 0.15.1 (main channel; key is per-run). */
const qemuReply = hex(`
  52454451 02000000 02000000 ba000000 00000000
  30819f300d06092a864886f70d010101050003818d0030818902818100ab63af9b2fb62e528cc01dcad64c6f
  c11724f0c29810a8c6aac3decd8e3527aea755cfb68c4698ede74ebcfc283bfd5ee8a534d3ea9d37503ed549
  13066f7bf81c4e087b7c202ea6f7424c9f5de4a6e7d8c5a993914641733beea9f6ef2044a50e9f1957417087
  fe5eb2b97c9e259f6c47edd0213f11cbb9590a3cdca4873e6b0203010001
  01000000 01000000 b2000000 0b000000 0f000000`);

describe('ClientLinkDecoder: what a client sends', () => {
  it('link + auth mechanism + ticket, with the next phase left over', () => {
    const next = hex('0102030405');
    const out = expectSameAtEverySplit(client, Buffer.concat([mainLink, encodeAuthMechanism(AuthMechanism.SPICE), ticket, next]));
    expect(out.messages).toEqual([
      { kind: 'linkMessage', connectionId: 0, channelType: 1, channelId: 0, commonCaps: [0xd], channelCaps: [0xf], minorVersion: 2 },
      { kind: 'authMechanism', mechanism: AuthMechanism.SPICE },
      { kind: 'ticket', encrypted: ticket },
    ]);
    expect(out.remainder).toEqual(next);
  });

  it('without AUTH_SELECTION the ticket follows the link directly', () => {
    const link = encodeLinkMessage({ connectionId: 9, channelType: ChannelType.INPUTS, channelId: 0, commonCaps: [0x2], channelCaps: [] });
    const out = expectSameAtEverySplit(client, Buffer.concat([link, ticket]));
    expect(out.messages.map((m) => (m as { kind: string }).kind)).toEqual(['linkMessage', 'ticket']);
  });

  it('expectAuthMechanism overrides the link caps', () => {
    const link = encodeLinkMessage({ connectionId: 0, channelType: 1, channelId: 0, commonCaps: [], channelCaps: [] });
    const out = run(() => new ClientLinkDecoder({ expectAuthMechanism: true }), [link, encodeAuthMechanism(1), ticket]);
    expect(out.messages).toHaveLength(3);
  });

  it('a SASL mechanism ends the phase; the SASL bytes are the remainder', () => {
    const out = run(client, [mainLink, encodeAuthMechanism(AuthMechanism.SASL), hex('aabb')]);
    expect(out.messages).toHaveLength(2);
    expect(out.remainder).toEqual(hex('aabb'));
  });

  it('accepts any caps_offset when there are no caps, like spice-server', () => {
    const link = encodeLinkMessage({ connectionId: 0, channelType: 1, channelId: 0, commonCaps: [], channelCaps: [] });
    link.writeUInt32LE(0xffffffff, 16 + 14);
    expect(run(() => new ClientLinkDecoder({ expectAuthMechanism: false }), [link, ticket]).error).toBeUndefined();
  });
});

/** Patches the u32 at `at` of a copy of `bytes`. */
function withU32(bytes: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt32LE(value, at);
  return copy;
}

// Offsets inside a link message: header 0..15, body from 16; counts at 22, 26, 30.
const COMMON_COUNT = 22;
const CHANNEL_COUNT = 26;
const CAPS_OFFSET = 30;

describe('ClientLinkDecoder: bad input gives the error spice-server would send', () => {
  const cases: [string, Buffer, string, number][] = [
    ['bad magic', withU32(mainLink, 0, 0x51444551), 'SPICE_BAD_MAGIC', LinkError.INVALID_MAGIC],
    ['major 1', withU32(mainLink, 4, 1), 'SPICE_VERSION_MISMATCH', LinkError.VERSION_MISMATCH],
    ['major 3', withU32(mainLink, 4, 3), 'SPICE_VERSION_MISMATCH', LinkError.VERSION_MISMATCH],
    ['body 0xFFFFFFFF', withU32(mainLink, 12, 0xffffffff), 'SPICE_BODY_TOO_LARGE', LinkError.INVALID_DATA],
    ['body 4097', withU32(mainLink, 12, 4097), 'SPICE_BODY_TOO_LARGE', LinkError.INVALID_DATA],
    ['body 17', withU32(mainLink, 12, 17), 'SPICE_BODY_TOO_SMALL', LinkError.INVALID_DATA],
    ['0xFFFFFFFF common caps', withU32(mainLink, COMMON_COUNT, 0xffffffff), 'SPICE_BAD_CAPS', LinkError.INVALID_DATA],
    ['one cap too many', withU32(mainLink, CHANNEL_COUNT, 2), 'SPICE_BAD_CAPS', LinkError.INVALID_DATA],
    // 2^31 + 2^31 wraps to 0 in a 32-bit sum; here it must not.
    ['counts that wrap at 32 bits', withU32(withU32(mainLink, COMMON_COUNT, 0x80000000), CHANNEL_COUNT, 0x80000000), 'SPICE_BAD_CAPS', LinkError.INVALID_DATA],
    ['caps inside the fixed part', withU32(mainLink, CAPS_OFFSET, 10), 'SPICE_BAD_CAPS', LinkError.INVALID_DATA],
    ['caps past the end', withU32(mainLink, CAPS_OFFSET, 22), 'SPICE_BAD_CAPS', LinkError.INVALID_DATA],
    ['caps_offset 0xFFFFFFFF', withU32(mainLink, CAPS_OFFSET, 0xffffffff), 'SPICE_BAD_CAPS', LinkError.INVALID_DATA],
    ['unknown auth mechanism', Buffer.concat([mainLink, encodeAuthMechanism(3)]), 'SPICE_BAD_AUTH_MECHANISM', LinkError.INVALID_DATA],
  ];
  it.each(cases.map(([name, bytes, code, linkError]) => ({ name, bytes, code, linkError })))(
    '$name → $code ($linkError)',
    ({ bytes, code, linkError }) => {
      expect(expectSameAtEverySplit(client, bytes).error).toEqual({ code, linkError });
    },
  );

  it('the 38-byte packet claiming 0xFFFFFFFF caps fails without allocating', () => {
    const packet = Buffer.alloc(38);
    packet.write('REDQ', 0, 'latin1');
    packet.writeUInt32LE(2, 4);
    packet.writeUInt32LE(2, 8);
    packet.writeUInt32LE(22, 12);
    packet[20] = ChannelType.MAIN;
    packet.writeUInt32LE(0xffffffff, COMMON_COUNT);
    packet.writeUInt32LE(18, CAPS_OFFSET);
    expect(run(client, [packet]).error).toEqual({ code: 'SPICE_BAD_CAPS', linkError: 3 });
  });

  it('rejects an oversize header as soon as the 16 header bytes are in', () => {
    const decoder = new ClientLinkDecoder();
    expect(() => decoder.feed(withU32(mainLink, 12, 5000).subarray(0, 16))).toThrow(
      expect.objectContaining({ code: 'SPICE_BODY_TOO_LARGE' }),
    );
    expect(decoder.currentState).toBe('failed');
  });

  it('honours a smaller maxBodySize', () => {
    const out = run(() => new ClientLinkDecoder({ maxBodySize: 20 }), [mainLink]);
    expect(out.error).toEqual({ code: 'SPICE_BODY_TOO_LARGE', linkError: 3 });
  });

  it('every truncation of a full client stream is SPICE_TRUNCATED', () => {
    const stream = Buffer.concat([mainLink, encodeAuthMechanism(1), ticket]);
    for (let len = 0; len < stream.length; len++) {
      expect(run(client, [stream.subarray(0, len)]).error, `length ${len}`).toEqual({ code: 'SPICE_TRUNCATED', linkError: 3 });
    }
  });

  it('errors are sticky and feeding after done is refused', () => {
    const failed = new ClientLinkDecoder();
    expect(() => failed.feed(withU32(mainLink, 0, 0))).toThrow(SpiceLinkError);
    expect(() => failed.feed(mainLink)).toThrow(expect.objectContaining({ code: 'SPICE_BAD_MAGIC' }));

    const done = new ClientLinkDecoder();
    done.feed(Buffer.concat([mainLink, encodeAuthMechanism(1), ticket]));
    expect(done.isDone).toBe(true);
    expect(() => done.feed(hex('00'))).toThrow(expect.objectContaining({ code: 'SPICE_FEED_AFTER_DONE' }));
  });

  it('reports how many bytes the current state still wants', () => {
    const decoder = new ClientLinkDecoder();
    expect(decoder.bytesWanted).toBe(16);
    decoder.feed(mainLink.subarray(0, 20));
    expect(decoder.currentState).toBe('linkBody');
    expect(decoder.bytesWanted).toBe(mainLink.length - 20);
  });
});

describe('ServerLinkDecoder: what a server sends', () => {
  it('decodes a reply captured from QEMU, then the link result', () => {
    const out = expectSameAtEverySplit(server, Buffer.concat([qemuReply, encodeLinkResult(0), hex('7a00')]));
    const [reply, result] = out.messages as [Record<string, unknown>, unknown];
    expect(reply).toMatchObject({ kind: 'linkReply', error: 0, commonCaps: [0xb], channelCaps: [0xf], minorVersion: 2 });
    expect((reply.publicKey as Buffer).length).toBe(162);
    expect(result).toEqual({ kind: 'linkResult', result: 0 });
    expect(out.remainder).toEqual(hex('7a00'));
  });

  it('an error reply is final: no link result follows', () => {
    const refusal = encodeLinkReply({ error: LinkError.CHANNEL_NOT_AVAILABLE, publicKey: Buffer.alloc(0), commonCaps: [], channelCaps: [] });
    const out = expectSameAtEverySplit(server, refusal);
    expect(out.messages).toMatchObject([{ kind: 'linkReply', error: 9 }]);
  });

  it('a refused ticket comes back as link result 7', () => {
    const out = run(server, [qemuReply, encodeLinkResult(LinkError.PERMISSION_DENIED)]);
    expect(out.messages[1]).toEqual({ kind: 'linkResult', result: 7 });
  });

  const serverCases: [string, Buffer, string][] = [
    ['bad magic', withU32(qemuReply, 0, 0x52454451), 'SPICE_BAD_MAGIC'],
    ['major 1', withU32(qemuReply, 4, 1), 'SPICE_VERSION_MISMATCH'],
    ['body smaller than SpiceLinkReply', withU32(qemuReply, 12, 177), 'SPICE_BODY_TOO_SMALL'],
    ['body over the limit', withU32(qemuReply, 12, 4097), 'SPICE_BODY_TOO_LARGE'],
    ['caps past the end', withU32(qemuReply, 16 + 166, 3), 'SPICE_BAD_CAPS'],
    ['caps_offset inside the key', withU32(qemuReply, 16 + 174, 100), 'SPICE_BAD_CAPS'],
    ['truncated before the result', qemuReply, 'SPICE_TRUNCATED'],
  ];
  it.each(serverCases.map(([name, bytes, code]) => ({ name, bytes, code })))('$name → $code', ({ bytes, code }) => {
    expect(expectSameAtEverySplit(server, bytes).error?.code).toBe(code);
  });
});
