import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, decodePng, distinctPixels, encodePng, parsePpm, pngSize, PNG_SIGNATURE } from './png';

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    expect(crc32(Buffer.from('IEND', 'latin1'))).toBe(0xae426082);
  });
});

const img = { width: 3, height: 2, channels: 3 as const, pixels: Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]) };

describe('encodePng', () => {
  const png = encodePng(img);
  it('writes signature, IHDR, IDAT, IEND with valid CRCs', () => {
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const chunks: string[] = [];
    for (let off = 8; off < png.length; ) {
      const len = png.readUInt32BE(off);
      const type = png.toString('latin1', off + 4, off + 8);
      expect(png.readUInt32BE(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
      chunks.push(type);
      off += 12 + len;
    }
    expect(chunks).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(png.subarray(16, 29)).toEqual(Buffer.from([0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0]));
  });
  it('IDAT holds filter byte 0 then each row', () => {
    const len = png.readUInt32BE(33);
    const raw = inflateSync(png.subarray(41, 41 + len));
    expect(raw).toEqual(Buffer.concat([Buffer.from([0]), img.pixels.subarray(0, 9), Buffer.from([0]), img.pixels.subarray(9)]));
  });
  it('round-trips through decodePng and reports its size', () => {
    expect(decodePng(png)).toEqual(img);
    expect(pngSize(png)).toEqual({ width: 3, height: 2 });
    expect(distinctPixels(img)).toBe(6);
  });
  it('refuses a wrong pixel count', () => {
    expect(() => encodePng({ ...img, height: 3 })).toThrow(/expected 27 pixel bytes/);
  });
});

describe('decodePng', () => {
  it('undoes Sub, Up, Average and Paeth filters', () => {
    // 2x2 RGB rows filtered by hand: row 0 Sub (1), row 1 Paeth (4) — then Up (2) and Average (3).
    const px = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
    const paeth = (a: number, b: number, c: number): number => {
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    };
    const build = (f1: number): Buffer => {
      const row0 = [1, ...px.slice(0, 6).map((v, i) => (i < 3 ? v : v - px[i - 3]!) & 0xff)];
      const row1 = [
        f1,
        ...px.slice(6).map((v, i) => {
          const a = i >= 3 ? px[6 + i - 3]! : 0;
          const b = px[i]!;
          const c = i >= 3 ? px[i - 3]! : 0;
          const pred = f1 === 2 ? b : f1 === 3 ? (a + b) >> 1 : paeth(a, b, c);
          return (v - pred) & 0xff;
        }),
      ];
      const base = encodePng({ width: 2, height: 2, channels: 3, pixels: Buffer.from(px) });
      const idat = deflateSync(Buffer.from([...row0, ...row1]));
      const ihdr = base.subarray(8, 33);
      const head = Buffer.alloc(8);
      head.writeUInt32BE(idat.length, 0);
      head.write('IDAT', 4, 'latin1');
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), idat])), 0);
      return Buffer.concat([PNG_SIGNATURE, ihdr, head, idat, crc, base.subarray(base.length - 12)]);
    };
    for (const f of [2, 3, 4]) expect([...decodePng(build(f)).pixels]).toEqual(px);
  });
  it('refuses what it does not support', () => {
    const png = encodePng(img);
    const palette = Buffer.from(png);
    palette[25] = 3;
    expect(() => decodePng(palette)).toThrow(/colour type 3/);
    expect(() => pngSize(Buffer.from('GIF89a'))).toThrow(/not a PNG/);
  });
});

describe('parsePpm', () => {
  it('reads a P6 image with a comment', () => {
    const ppm = Buffer.concat([Buffer.from('P6\n# QEMU screendump\n3 2\n255\n', 'latin1'), img.pixels]);
    expect(parsePpm(ppm)).toEqual(img);
  });
  it('refuses truncated or foreign data', () => {
    expect(() => parsePpm(Buffer.concat([Buffer.from('P6 3 2 255\n'), img.pixels.subarray(1)]))).toThrow(/truncated/);
    expect(() => parsePpm(Buffer.from('P3 1 1 255\n0 0 0'))).toThrow(/P6/);
  });
});
