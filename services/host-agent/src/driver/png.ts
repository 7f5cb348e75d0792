import { deflateSync, inflateSync } from 'node:zlib';

/**
 * Just enough image handling for console screenshots: PPM (P6) → RGB, RGB → PNG, and a
 * PNG reader (8-bit RGB/RGBA, all five filters) for size and pixel checks. Node 20 has no
 * zlib.crc32, hence the table CRC.
 */

export interface RgbImage {
  width: number;
  height: number;
  /** width * height * channels bytes, row-major. */
  pixels: Buffer;
  channels: 3 | 4;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export function encodePng(img: RgbImage): Buffer {
  const { width, height, pixels, channels } = img;
  const stride = width * channels;
  if (pixels.length !== stride * height) throw new Error(`expected ${stride * height} pixel bytes, got ${pixels.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2; // colour type RGBA / RGB
  // compression, filter method, interlace: all 0
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: None
    pixels.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Width and height from a PNG's IHDR without decoding it. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes a non-interlaced 8-bit RGB or RGBA PNG (what QEMU and encodePng write). */
export function decodePng(png: Buffer): RgbImage {
  const { width, height } = pngSize(png);
  const bitDepth = png[24];
  const colourType = png[25];
  const interlace = png[28];
  if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
    throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace}`);
  }
  const channels = colourType === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let off = 8; off + 12 <= png.length; ) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    for (let x = 0; x < stride; x++) {
      const v = raw[src + x]!;
      const a = x >= channels ? out[y * stride + x - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0;
      const pred = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? paeth(a, b, c) : -1;
      if (pred < 0) throw new Error(`bad PNG filter ${filter} on row ${y}`);
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, pixels: out, channels };
}

/** Binary PPM (P6, maxval ≤ 255), what QEMU's screendump writes without a format. */
export function parsePpm(buf: Buffer): RgbImage {
  const tokens: string[] = [];
  let i = 2;
  if (buf.toString('latin1', 0, 2) !== 'P6') throw new Error('not a binary PPM (P6)');
  while (tokens.length < 3 && i < buf.length) {
    const ch = buf[i]!;
    if (ch === 0x23) {
      while (i < buf.length && buf[i] !== 0x0a) i++; // comment
    } else if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) {
      i++;
    } else {
      let j = i;
      while (j < buf.length && ![0x20, 0x0a, 0x0d, 0x09].includes(buf[j]!)) j++;
      tokens.push(buf.toString('latin1', i, j));
      i = j;
    }
  }
  i++; // the single whitespace after maxval
  const [width, height, maxval] = tokens.map(Number) as [number, number, number];
  if (!(width > 0 && height > 0 && maxval > 0 && maxval <= 255)) throw new Error(`unsupported PPM header ${tokens.join(' ')}`);
  const pixels = buf.subarray(i, i + width * height * 3);
  if (pixels.length !== width * height * 3) throw new Error(`PPM truncated: ${pixels.length} of ${width * height * 3} pixel bytes`);
  return { width, height, pixels: Buffer.from(pixels), channels: 3 };
}

/** Number of distinct pixel values (capped), to tell a picture from a blank screen. */
export function distinctPixels(img: RgbImage, cap = 1000): number {
  const seen = new Set<number>();
  for (let p = 0; p < img.pixels.length && seen.size < cap; p += img.channels) {
    seen.add((img.pixels[p]! << 16) | (img.pixels[p + 1]! << 8) | img.pixels[p + 2]!);
  }
  return seen.size;
}
