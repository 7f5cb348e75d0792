import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cropFrame, encodePng, findFrame, nonBlackPixels, parsePpm, parseXwd, showsPicture, type Frame } from './viewer';

/** A deterministic picture: pseudo-random "ink" on black, like a text console. */
function picture(width: number, height: number, seed: number, inkEvery = 7): Frame {
  const rgb = Buffer.alloc(width * height * 3);
  let s = seed;
  for (let i = 0; i < width * height; i++) {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    if (s % inkEvery === 0) rgb.set([0xa8, 0xa8, (s >>> 8) & 0xff], i * 3);
  }
  return { width, height, rgb };
}

function paste(into: Frame, f: Frame, x: number, y: number): void {
  for (let r = 0; r < f.height; r++) f.rgb.copy(into.rgb, ((y + r) * into.width + x) * 3, r * f.width * 3, (r + 1) * f.width * 3);
}

/**
 * An XWD file as X servers write it: big-endian header, name, colormap, padded rows.
 * `claim` is the bits-per-pixel written in the header when it differs from the layout.
 */
function xwd(f: Frame, o: { msb: boolean; bpp: 24 | 32; ncolors?: number; pad?: number; claim?: number }): Buffer {
  const name = Buffer.from('xwdump\0', 'latin1');
  const step = o.bpp / 8;
  const bytesPerLine = f.width * step + (o.pad ?? 0);
  const header = Buffer.alloc(100);
  const fields = [100 + name.length, 7, 2, 24, f.width, f.height, 0, o.msb ? 1 : 0, 32, o.msb ? 1 : 0, 32, o.claim ?? o.bpp, bytesPerLine, 4,
    0xff0000, 0xff00, 0xff, 8, o.ncolors ?? 0, o.ncolors ?? 0, f.width, f.height, 0, 0, 0];
  fields.forEach((v, i) => header.writeUInt32BE(v, i * 4));
  const data = Buffer.alloc(bytesPerLine * f.height, 0x5a); // padding bytes must be skipped
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const i = (y * f.width + x) * 3;
      const v = (f.rgb[i]! << 16) | (f.rgb[i + 1]! << 8) | f.rgb[i + 2]!;
      const p = y * bytesPerLine + x * step;
      if (step === 4 && o.msb) data.writeUInt32BE(v, p);
      else if (step === 4) data.writeUInt32LE(v, p);
      else if (o.msb) data.writeUIntBE(v, p, 3);
      else data.writeUIntLE(v, p, 3);
    }
  }
  return Buffer.concat([header, name, Buffer.alloc((o.ncolors ?? 0) * 12, 0xee), data]);
}

describe('parseXwd', () => {
  const f = picture(13, 5, 1, 2);
  it.each([
    { msb: false, bpp: 32 as const },
    { msb: true, bpp: 32 as const, ncolors: 256 },
    { msb: false, bpp: 24 as const, pad: 1 },
    { msb: true, bpp: 24 as const, pad: 3, ncolors: 2 },
    { msb: false, bpp: 32 as const, claim: 24, ncolors: 256 }, // what `xwd -root` writes
  ])('reads %j back to the same pixels', (o) => {
    expect(parseXwd(xwd(f, o))).toEqual(f);
  });

  it('refuses short, truncated and non-ZPixmap dumps', () => {
    const good = xwd(f, { msb: false, bpp: 32 });
    expect(() => parseXwd(good.subarray(0, 99))).toThrow(/header/);
    expect(() => parseXwd(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    const xy = Buffer.from(good);
    xy.writeUInt32BE(1, 8);
    expect(() => parseXwd(xy)).toThrow(/ZPixmap/);
    const bpp16 = Buffer.from(good);
    bpp16.writeUInt32BE(16, 44);
    expect(() => parseXwd(bpp16)).toThrow(/16 bits/);
  });
});

describe('parsePpm', () => {
  it('reads a P6 with a comment, as QEMU screendump writes it', () => {
    const f = picture(4, 3, 9, 2);
    expect(parsePpm(Buffer.concat([Buffer.from('P6\n# qemu\n4 3\n255\n'), f.rgb]))).toEqual(f);
  });
  it('refuses 16-bit, truncated and non-P6 files', () => {
    expect(() => parsePpm(Buffer.concat([Buffer.from('P6\n1 1\n65535\n'), Buffer.alloc(6)]))).toThrow(/maxval/);
    expect(() => parsePpm(Buffer.concat([Buffer.from('P6\n2 2\n255\n'), Buffer.alloc(11)]))).toThrow(/truncated/);
    expect(() => parsePpm(Buffer.from('P3\n1 1\n255\n0 0 0\n'))).toThrow(/P6/);
  });
});

describe('encodePng', () => {
  it('writes chunks with valid lengths and whose IDAT inflates back to the pixels', () => {
    const f = picture(17, 9, 3);
    const png = encodePng(f);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const chunks: { type: string; data: Buffer }[] = [];
    for (let p = 8; p < png.length; ) {
      const len = png.readUInt32BE(p);
      chunks.push({ type: png.toString('latin1', p + 4, p + 8), data: png.subarray(p + 8, p + 8 + len) });
      p += 12 + len;
    }
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect([chunks[0]!.data.readUInt32BE(0), chunks[0]!.data.readUInt32BE(4), chunks[0]!.data[8], chunks[0]!.data[9]]).toEqual([17, 9, 8, 2]);
    const raw = inflateSync(chunks[1]!.data);
    const rows = Array.from({ length: 9 }, (_, y) => raw.subarray(y * 52, (y + 1) * 52));
    expect(rows.every((r) => r[0] === 0)).toBe(true);
    expect(Buffer.concat(rows.map((r) => r.subarray(1)))).toEqual(f.rgb);
  });
});

describe('findFrame', () => {
  const guest = picture(60, 30, 42);
  const screen = (): Frame => {
    const s: Frame = { width: 200, height: 120, rgb: Buffer.alloc(200 * 120 * 3) }; // black root, like Xvfb -br
    paste(s, { width: 80, height: 50, rgb: Buffer.alloc(80 * 50 * 3, 0x33) }, 50, 20); // a grey window
    return s;
  };

  it('finds the guest picture where it was pasted, all pixels equal', () => {
    const s = screen();
    paste(s, guest, 57, 33);
    const m = findFrame(s, guest);
    expect(m).toMatchObject({ x: 57, y: 33, equal: 1, inkEqual: 1 });
    expect(showsPicture(m)).toBe(true);
  });

  it('tolerates a few changed pixels (a blinking cursor) but reports them', () => {
    const s = screen();
    paste(s, guest, 120, 80);
    for (let x = 0; x < 9; x++) s.rgb.set([0xff, 0xff, 0xff], ((80 + 28) * 200 + 120 + x) * 3);
    const m = findFrame(s, guest)!;
    expect([m.x, m.y]).toEqual([120, 80]);
    expect(m.equal).toBeLessThan(1);
    expect(m.equal).toBeGreaterThan(0.99);
    expect(showsPicture(m)).toBe(true);
  });

  it('does not "find" a mostly black picture in a black area, nor another picture', () => {
    expect(findFrame(screen(), guest)).toBeUndefined();
    const s = screen();
    paste(s, picture(60, 30, 7), 10, 10);
    expect(findFrame(s, guest)).toBeUndefined();
  });

  it('a picture scrolled by one of its 30 rows matches only partly, and does not count', () => {
    const s = screen();
    const scrolled = picture(60, 30, 5);
    paste(scrolled, cropFrame(guest, 0, 1, 60, 29), 0, 0); // new content enters at the bottom
    paste(s, scrolled, 20, 20);
    const m = findFrame(s, guest)!;
    expect([m.x, m.y]).toEqual([20, 19]);
    expect(m.inkEqual).toBeGreaterThan(0.9);
    expect(showsPicture(m)).toBe(false);
    expect(showsPicture(undefined)).toBe(false);
  });

  it('a needle larger than the screen is not found', () => {
    expect(findFrame(guest, screen())).toBeUndefined();
  });
});

describe('cropFrame / nonBlackPixels', () => {
  it('crops the rectangle asked for', () => {
    const s = screen();
    function screen(): Frame {
      const f: Frame = { width: 10, height: 10, rgb: Buffer.alloc(300) };
      paste(f, { width: 2, height: 3, rgb: Buffer.alloc(18, 0x80) }, 4, 5);
      return f;
    }
    expect(nonBlackPixels(s)).toBe(6);
    expect(cropFrame(s, 4, 5, 2, 3)).toEqual({ width: 2, height: 3, rgb: Buffer.alloc(18, 0x80) });
    expect(nonBlackPixels(cropFrame(s, 0, 0, 4, 10))).toBe(0);
  });
});
