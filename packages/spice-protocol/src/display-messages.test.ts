import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DISPLAY_INIT,
  DISPLAY_INIT_SIZE,
  DisplayClientMessage,
  LinkError,
  MiniFrameDecoder,
  decodeDisplayInit,
  encodeDisplayInit,
  encodeDisplayInitFrame,
} from './index';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('DISPLAY_INIT', () => {
  // Packed SpiceMsgcDisplayInit: u8 pixmap_cache_id, i64 pixmap_cache_size, u8
  // glz_dictionary_id, i32 glz_dictionary_window_size.
  const init = { pixmapCacheId: 1, pixmapCacheSize: 0x1400000, glzDictionaryId: 1, glzDictionaryWindowSize: 0x800000 };
  const fixture = hex('01 0000400100000000 01 00008000');

  it('encodes and decodes the packed 14-byte layout', () => {
    expect(fixture.length).toBe(DISPLAY_INIT_SIZE);
    expect(encodeDisplayInit(init)).toEqual(fixture);
    expect(decodeDisplayInit(fixture)).toEqual(init);
  });

  it('signed fields round-trip negative values', () => {
    const negative = { ...init, pixmapCacheSize: -1, glzDictionaryWindowSize: -2 };
    expect(encodeDisplayInit(negative)).toEqual(hex('01 ffffffffffffffff 01 feffffff'));
    expect(decodeDisplayInit(encodeDisplayInit(negative))).toEqual(negative);
  });

  it('makes a whole frame of type 101 for the display channel, with safe defaults', () => {
    const frame = encodeDisplayInitFrame();
    expect(frame.subarray(0, 6)).toEqual(hex('6500 0e000000'));
    const [decoded] = new MiniFrameDecoder().feed(frame);
    expect(decoded!.type).toBe(DisplayClientMessage.INIT);
    expect(decodeDisplayInit(decoded!.payload)).toEqual(DEFAULT_DISPLAY_INIT);
  });

  it('refuses bad input both ways', () => {
    expect(() => decodeDisplayInit(fixture.subarray(0, 13))).toThrow(
      expect.objectContaining({ code: 'SPICE_INVALID_DATA', linkError: LinkError.INVALID_DATA }),
    );
    expect(() => decodeDisplayInit(hex('01 ffffffffffffff7f 01 00000000'))).toThrow(expect.objectContaining({ code: 'SPICE_INVALID_DATA' }));
    for (const bad of [{ pixmapCacheId: 256 }, { glzDictionaryWindowSize: 2 ** 31 }, { pixmapCacheSize: 0.5 }]) {
      expect(() => encodeDisplayInit({ ...init, ...bad }), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'SPICE_BAD_ARGUMENT' }));
    }
  });
});
