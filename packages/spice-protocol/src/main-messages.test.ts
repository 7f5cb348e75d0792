import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BaseClientMessage,
  BaseServerMessage,
  ChannelType,
  DisplayClientMessage,
  LinkError,
  MIGRATE_NO_PORT,
  MainClientMessage,
  MainServerMessage,
  MiniFrameDecoder,
  SpiceChannelError,
  decodeChannelsList,
  decodeMainClientMessage,
  decodeMainInit,
  decodeMainServerMessage,
  decodeMigrateBegin,
  decodeMigrateBeginSeamless,
  decodeMigrateDstDoSeamless,
  decodeMigrateSwitchHost,
  encodeChannelsList,
  encodeMainClientMessage,
  encodeMainInit,
  encodeMainServerMessage,
  encodeMigrateBegin,
  encodeMigrateBeginSeamless,
  encodeMiniFrame,
  type MainServerMsg,
} from './index';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const INVALID = { code: 'SPICE_INVALID_DATA', linkError: LinkError.INVALID_DATA };

describe('message numbers (spice/enums.h)', () => {
  // Each value checked against spice-protocol's enums.h; the table keeps them from drifting.
  it.each([
    ['SPICE_MSG_MIGRATE', BaseServerMessage.MIGRATE, 1],
    ['SPICE_MSG_PING', BaseServerMessage.PING, 4],
    ['SPICE_MSG_DISCONNECTING', BaseServerMessage.DISCONNECTING, 6],
    ['SPICE_MSGC_PONG', BaseClientMessage.PONG, 3],
    ['SPICE_MSG_MAIN_MIGRATE_BEGIN', MainServerMessage.MIGRATE_BEGIN, 101],
    ['SPICE_MSG_MAIN_MIGRATE_CANCEL', MainServerMessage.MIGRATE_CANCEL, 102],
    ['SPICE_MSG_MAIN_INIT', MainServerMessage.INIT, 103],
    ['SPICE_MSG_MAIN_CHANNELS_LIST', MainServerMessage.CHANNELS_LIST, 104],
    ['SPICE_MSG_MAIN_MIGRATE_SWITCH_HOST', MainServerMessage.MIGRATE_SWITCH_HOST, 111],
    ['SPICE_MSG_MAIN_MIGRATE_END', MainServerMessage.MIGRATE_END, 112],
    ['SPICE_MSG_MAIN_MIGRATE_BEGIN_SEAMLESS', MainServerMessage.MIGRATE_BEGIN_SEAMLESS, 116],
    ['SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_ACK', MainServerMessage.MIGRATE_DST_SEAMLESS_ACK, 117],
    ['SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_NACK', MainServerMessage.MIGRATE_DST_SEAMLESS_NACK, 118],
    ['SPICE_MSGC_MAIN_MIGRATE_CONNECTED', MainClientMessage.MIGRATE_CONNECTED, 102],
    ['SPICE_MSGC_MAIN_MIGRATE_CONNECT_ERROR', MainClientMessage.MIGRATE_CONNECT_ERROR, 103],
    ['SPICE_MSGC_MAIN_MIGRATE_END', MainClientMessage.MIGRATE_END, 109],
    ['SPICE_MSGC_MAIN_MIGRATE_DST_DO_SEAMLESS', MainClientMessage.MIGRATE_DST_DO_SEAMLESS, 110],
    ['SPICE_MSGC_MAIN_MIGRATE_CONNECTED_SEAMLESS', MainClientMessage.MIGRATE_CONNECTED_SEAMLESS, 111],
    ['SPICE_MSGC_DISPLAY_INIT', DisplayClientMessage.INIT, 101],
  ])('%s = %i', (_name, value, expected) => {
    expect(value).toBe(expected);
  });
});

describe('MAIN_INIT', () => {
  // SpiceMsgMainInit: eight u32 in order.
  const fixture = hex(`
    78563412 01000000 03000000 02000000
    01000000 0a000000 efcdab00 00000004`);
  const init = {
    sessionId: 0x12345678,
    displayChannelsHint: 1,
    supportedMouseModes: 3,
    currentMouseMode: 2,
    agentConnected: 1,
    agentTokens: 10,
    multiMediaTime: 0xabcdef,
    ramHint: 0x04000000,
  };

  it('decodes and encodes the documented layout', () => {
    expect(decodeMainInit(fixture)).toEqual(init);
    expect(encodeMainInit(init)).toEqual(fixture);
    expect(decodeMainServerMessage({ type: 103, payload: fixture })).toEqual({ kind: 'init', ...init });
    expect(encodeMainServerMessage({ kind: 'init', ...init })).toEqual(Buffer.concat([hex('6700 20000000'), fixture]));
  });

  it('ignores trailing bytes, refuses a short body', () => {
    expect(decodeMainInit(Buffer.concat([fixture, hex('ff')]))).toEqual(init);
    expect(() => decodeMainInit(fixture.subarray(0, 31))).toThrow(expect.objectContaining(INVALID));
  });

  it('refuses values a u32 cannot carry', () => {
    expect(() => encodeMainInit({ ...init, sessionId: 2 ** 32 })).toThrow(expect.objectContaining({ code: 'SPICE_BAD_ARGUMENT' }));
  });
});

describe('CHANNELS_LIST', () => {
  const fixture = hex('04000000 0200 0400 0300 0500');
  const channels = [
    { type: ChannelType.DISPLAY, id: 0 },
    { type: ChannelType.CURSOR, id: 0 },
    { type: ChannelType.INPUTS, id: 0 },
    { type: ChannelType.PLAYBACK, id: 0 },
  ];

  it('decodes and encodes; the gateway can drop denied types', () => {
    expect(decodeChannelsList(fixture)).toEqual(channels);
    expect(encodeChannelsList(channels)).toEqual(fixture);
    const allowed = channels.filter((c) => c.type !== ChannelType.PLAYBACK);
    expect(encodeMainServerMessage({ kind: 'channelsList', channels: allowed })).toEqual(hex('6800 0a000000 03000000 0200 0400 0300'));
    expect(decodeChannelsList(hex('00000000'))).toEqual([]);
  });

  it.each([
    ['one more than the body holds', hex('05000000 0200 0400 0300 0500')],
    ['0xffffffff channels in a 4-byte body', hex('ffffffff')],
    ['a half entry', hex('01000000 02')],
    ['no count at all', hex('010000')],
  ])('refuses %s with INVALID_DATA', (_name, payload) => {
    expect(() => decodeChannelsList(payload)).toThrow(expect.objectContaining(INVALID));
  });
});

describe('migration destination info', () => {
  // SpiceMsgMainMigrateBeginSeamless as spice-server lays it out: port u16, sport u16,
  // host_size u32, host_offset u32, cert_subject_size u32, cert_subject_offset u32,
  // src_mig_version u32, then the NUL-terminated host at offset 24.
  const seamless = hex(`
    0c17 ffff 0f000000 18000000 00000000 00000000 01000000
    ${ascii('192.168.122.10')}00`);

  const cert = 'C=US, O=Deskplane, CN=gw';
  // MIGRATE_BEGIN with a TLS port and a cert subject: host at 20, subject right after it.
  const begin = hex(`
    0c17 0d17 10000000 14000000 19000000 24000000
    ${ascii('gw.example.test')}00 ${ascii(cert)}00`);

  it('decodes MIGRATE_BEGIN_SEAMLESS built from the documented layout', () => {
    expect(decodeMigrateBeginSeamless(seamless)).toEqual({
      port: 5900,
      sport: MIGRATE_NO_PORT,
      host: '192.168.122.10',
      certSubject: null,
      srcMigVersion: 1,
    });
    expect(encodeMigrateBeginSeamless(decodeMigrateBeginSeamless(seamless))).toEqual(seamless);
  });

  it('decodes MIGRATE_BEGIN and MIGRATE_SWITCH_HOST (same layout) with a cert subject', () => {
    expect(begin.length).toBe(20 + 16 + cert.length + 1);
    const info = { port: 5900, sport: 5901, host: 'gw.example.test', certSubject: cert };
    expect(decodeMigrateBegin(begin)).toEqual(info);
    expect(decodeMigrateSwitchHost(begin)).toEqual(info);
    expect(encodeMigrateBegin(info)).toEqual(begin);
    expect(decodeMainServerMessage({ type: 111, payload: begin })).toEqual({ kind: 'migrateSwitchHost', ...info });
  });

  it('rewrites a MIGRATE_BEGIN_SEAMLESS to point at the gateway', () => {
    const msg = decodeMainServerMessage({ type: MainServerMessage.MIGRATE_BEGIN_SEAMLESS, payload: seamless });
    expect(msg?.kind).toBe('migrateBeginSeamless');
    const rewritten = encodeMainServerMessage({ ...(msg as MainServerMsg & { kind: 'migrateBeginSeamless' }), host: 'gw.deskplane.test', port: 443 });
    const [frame] = new MiniFrameDecoder().feed(rewritten);
    expect(frame!.type).toBe(116);
    expect(decodeMainServerMessage(frame!)).toEqual({
      kind: 'migrateBeginSeamless',
      port: 443,
      sport: MIGRATE_NO_PORT,
      host: 'gw.deskplane.test',
      certSubject: null,
      srcMigVersion: 1,
    });
  });

  /** Copy of `base` with u32 `value` written at `at`. */
  const patched = (base: Buffer, at: number, value: number): Buffer => {
    const b = Buffer.from(base);
    b.writeUInt32LE(value, at);
    return b;
  };

  it.each([
    ['host offset past the end', patched(seamless, 8, seamless.length)],
    ['host one byte too long', patched(seamless, 4, 16)],
    ['host offset + size wrapping 32 bits', patched(patched(seamless, 8, 0xffffffff), 4, 0xffffffff)],
    ['host offset inside the fixed part', patched(seamless, 8, 4)],
    ['host offset 0', patched(seamless, 8, 0)],
    ['host size 0', patched(seamless, 4, 0)],
    ['host not NUL-terminated', patched(seamless, 4, 14)],
    ['cert subject size without an offset', patched(seamless, 12, 3)],
    ['cert subject past the end', patched(patched(seamless, 12, 3), 16, seamless.length - 1)],
    ['a body shorter than the fixed part', seamless.subarray(0, 23)],
  ])('MIGRATE_BEGIN_SEAMLESS with %s → INVALID_DATA', (_name, payload) => {
    expect(() => decodeMigrateBeginSeamless(payload)).toThrow(expect.objectContaining(INVALID));
  });

  it('stops a string at its first NUL, as C does', () => {
    const payload = Buffer.from(seamless);
    payload[24 + 3] = 0; // "192\0..."
    expect(decodeMigrateBeginSeamless(payload).host).toBe('192');
  });

  it.each([
    ['an empty host', { port: 1, sport: 2, host: '', certSubject: null }],
    ['a NUL in the host', { port: 1, sport: 2, host: 'a\0b', certSubject: null }],
    ['a port over 65535', { port: 65536, sport: 2, host: 'h', certSubject: null }],
  ])('refuses to encode %s', (_name, info) => {
    expect(() => encodeMigrateBegin(info)).toThrow(expect.objectContaining({ code: 'SPICE_BAD_ARGUMENT' }));
  });

  it('never reads out of bounds or throws anything but INVALID_DATA on random bodies', () => {
    const decoders = [decodeMigrateBegin, decodeMigrateBeginSeamless, decodeMigrateSwitchHost, decodeChannelsList, decodeMainInit];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat({ max: 80 }), fc.nat({ max: 80 }), (bytes, hostAt, hostSize) => {
        const payload = Buffer.from(bytes);
        // Bias towards plausible offsets so the string checks run, not only the size check.
        if (payload.length >= 12) {
          payload.writeUInt32LE(hostSize, 4);
          payload.writeUInt32LE(hostAt, 8);
        }
        for (const decode of decoders) {
          try {
            decode(payload);
          } catch (err) {
            if (!(err instanceof SpiceChannelError) || err.code !== 'SPICE_INVALID_DATA') throw err;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the rest of the migration handshake', () => {
  it.each([
    [{ kind: 'migrateCancel' } as const, '6600 00000000'],
    [{ kind: 'migrateEnd' } as const, '7000 00000000'],
    [{ kind: 'migrateDstSeamlessAck' } as const, '7500 00000000'],
    [{ kind: 'migrateDstSeamlessNack' } as const, '7600 00000000'],
  ])('server %j ↔ %s', (msg, frameHex) => {
    expect(encodeMainServerMessage(msg)).toEqual(hex(frameHex));
    const [frame] = new MiniFrameDecoder().feed(hex(frameHex));
    expect(decodeMainServerMessage(frame!)).toEqual(msg);
  });

  it.each([
    [{ kind: 'migrateConnected' } as const, '6600 00000000'],
    [{ kind: 'migrateConnectError' } as const, '6700 00000000'],
    [{ kind: 'migrateEnd' } as const, '6d00 00000000'],
    [{ kind: 'migrateDstDoSeamless', srcVersion: 2 } as const, '6e00 04000000 02000000'],
    [{ kind: 'migrateConnectedSeamless' } as const, '6f00 00000000'],
  ])('client %j ↔ %s', (msg, frameHex) => {
    expect(encodeMainClientMessage(msg)).toEqual(hex(frameHex));
    const [frame] = new MiniFrameDecoder().feed(hex(frameHex));
    expect(decodeMainClientMessage(frame!)).toEqual(msg);
  });

  it('DST_DO_SEAMLESS needs its 4 bytes', () => {
    expect(() => decodeMigrateDstDoSeamless(hex('020000'))).toThrow(expect.objectContaining(INVALID));
  });

  it('leaves other main messages to be forwarded untouched', () => {
    expect(decodeMainServerMessage({ type: BaseServerMessage.PING, payload: Buffer.alloc(12) })).toBeUndefined();
    expect(decodeMainServerMessage({ type: MainServerMessage.AGENT_DATA, payload: Buffer.alloc(3) })).toBeUndefined();
    expect(decodeMainClientMessage({ type: MainClientMessage.AGENT_DATA, payload: Buffer.alloc(3) })).toBeUndefined();
  });

  it('a main stream of migration messages decodes the same at every split', () => {
    const stream = Buffer.concat([
      encodeMiniFrame(MainServerMessage.INIT, Buffer.alloc(32, 1)),
      encodeMainServerMessage({ kind: 'migrateBeginSeamless', port: 5900, sport: MIGRATE_NO_PORT, host: 'dst', certSubject: null, srcMigVersion: 1 }),
      encodeMiniFrame(BaseServerMessage.PING, Buffer.alloc(40, 9)),
      encodeMainServerMessage({ kind: 'migrateDstSeamlessAck' }),
      encodeMainServerMessage({ kind: 'migrateSwitchHost', port: 1, sport: 2, host: 'h', certSubject: 'cn' }),
    ]);
    const decodeAll = (pieces: Buffer[]) => {
      const decoder = new MiniFrameDecoder();
      const out = pieces.flatMap((p) => decoder.feed(p)).map((f) => decodeMainServerMessage(f) ?? { type: f.type });
      decoder.end();
      return out;
    };
    const whole = decodeAll([stream]);
    expect(whole.map((m) => ('kind' in m ? m.kind : m.type))).toEqual(['init', 'migrateBeginSeamless', 4, 'migrateDstSeamlessAck', 'migrateSwitchHost']);
    for (let at = 0; at <= stream.length; at++) {
      expect(decodeAll([stream.subarray(0, at), stream.subarray(at)]), `split at ${at}`).toEqual(whole);
    }
  });
});
