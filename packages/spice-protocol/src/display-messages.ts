import { DISPLAY_INIT_SIZE, DisplayClientMessage } from './constants';
import { SpiceChannelError } from './errors';
import { encodeMiniFrame } from './mini-header';

/**
 * SpiceMsgcDisplayInit (SPICE_MSGC_DISPLAY_INIT, 101 on the display channel), packed:
 * pixmap_cache_id u8, pixmap_cache_size i64 (pixels), glz_dictionary_id u8,
 * glz_dictionary_window_size i32 (pixels): 14 bytes.
 *
 * Why the gateway needs it: spice-server 0.15.1 (QEMU 7.2) crashes the whole QEMU process
 * when a display channel is closed before the client sent this message. A gateway that
 * must close an upstream display channel early (kill, timeout, client gone mid-connect)
 * sends DISPLAY_INIT upstream first (only if the client has not: watch for it with
 * MiniFrameScanner), waits ~100–500 ms, then closes.
 */
export interface DisplayInit {
  pixmapCacheId: number;
  /** In pixels (spice-gtk sends its cache size in bytes / 4). */
  pixmapCacheSize: number;
  glzDictionaryId: number;
  /** In pixels. */
  glzDictionaryWindowSize: number;
}

/**
 * Values for a gateway-originated DISPLAY_INIT on a channel that will be closed right after:
 * spice-html5's, which spice-server accepts (10 Mi-pixel pixmap cache, GLZ dictionary 0
 * with an empty window, so no GLZ state is set up for a client that will never decode).
 */
export const DEFAULT_DISPLAY_INIT: Readonly<DisplayInit> = Object.freeze({
  pixmapCacheId: 1,
  pixmapCacheSize: 10 * 1024 * 1024,
  glzDictionaryId: 0,
  glzDictionaryWindowSize: 0,
});

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SpiceChannelError('SPICE_BAD_ARGUMENT', `${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** The 14-byte body. */
export function encodeDisplayInit(init: DisplayInit): Buffer {
  checkRange('pixmapCacheId', init.pixmapCacheId, 0, 0xff);
  checkRange('pixmapCacheSize', init.pixmapCacheSize, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  checkRange('glzDictionaryId', init.glzDictionaryId, 0, 0xff);
  checkRange('glzDictionaryWindowSize', init.glzDictionaryWindowSize, INT32_MIN, INT32_MAX);
  const buf = Buffer.alloc(DISPLAY_INIT_SIZE);
  buf.writeUInt8(init.pixmapCacheId, 0);
  buf.writeBigInt64LE(BigInt(init.pixmapCacheSize), 1);
  buf.writeUInt8(init.glzDictionaryId, 9);
  buf.writeInt32LE(init.glzDictionaryWindowSize, 10);
  return buf;
}

/** Header + body, ready to send upstream on a display channel. */
export function encodeDisplayInitFrame(init: DisplayInit = DEFAULT_DISPLAY_INIT): Buffer {
  return encodeMiniFrame(DisplayClientMessage.INIT, encodeDisplayInit(init));
}

/** Decodes the body (e.g. to log what the client asked for). */
export function decodeDisplayInit(payload: Buffer): DisplayInit {
  if (payload.length < DISPLAY_INIT_SIZE) {
    throw new SpiceChannelError('SPICE_INVALID_DATA', `DISPLAY_INIT needs ${DISPLAY_INIT_SIZE} bytes, got ${payload.length}`);
  }
  const cacheSize = payload.readBigInt64LE(1);
  if (cacheSize > BigInt(Number.MAX_SAFE_INTEGER) || cacheSize < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new SpiceChannelError('SPICE_INVALID_DATA', `DISPLAY_INIT pixmap_cache_size ${cacheSize} is not a safe integer`);
  }
  return {
    pixmapCacheId: payload.readUInt8(0),
    pixmapCacheSize: Number(cacheSize),
    glzDictionaryId: payload.readUInt8(9),
    glzDictionaryWindowSize: payload.readInt32LE(10),
  };
}
