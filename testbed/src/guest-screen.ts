/**
 * "remote-viewer shows the guest" made checkable: the viewer's screen must contain QEMU's
 * own screendump of the desktop's guest (found by the desktop's uid in the domain's
 * Deskplane metadata, on the testbed's libvirt hosts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { TestbedState } from './state';
import { cropFrame, findFrame, parsePpm, showsPicture, type Frame, type ScreenMatch, type Viewer } from './viewer';

const virsh = (uri: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) => execFile('virsh', ['-q', '-c', uri, ...args], (err, stdout, stderr) => (err ? reject(new Error(`virsh ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))));

/** Where the desktop's guest runs: host URI and domain name. */
export async function findGuest(testbed: TestbedState, uid: string): Promise<{ uri: string; domain: string }> {
  for (const h of testbed.hosts) {
    const names = (await virsh(h.libvirtUri, ['list', '--name'])).split('\n').map((s) => s.trim()).filter(Boolean);
    for (const domain of names) {
      if ((await virsh(h.libvirtUri, ['dumpxml', domain])).includes(`desktopUid>${uid}<`)) return { uri: h.libvirtUri, domain };
    }
  }
  throw new Error(`no running guest of desktop uid ${uid} on ${testbed.hosts.map((h) => h.name).join(', ')}`);
}

/** QEMU's screendump of the guest: libvirt hands over whatever QEMU wrote, PNG or PPM. */
export async function screendump(guest: { uri: string; domain: string }): Promise<Frame> {
  const dir = mkdtempSync(join(tmpdir(), 'deskplane-screendump-'));
  try {
    await virsh(guest.uri, ['screenshot', guest.domain, '--file', join(dir, 'screen')]);
    const data = readFileSync(join(dir, 'screen'));
    if (data.subarray(0, 8).equals(PNG_SIGNATURE)) return decodePng(data);
    if (data.toString('latin1', 0, 2) === 'P6') return parsePpm(data);
    throw new Error(`screenshot of ${guest.domain}: unknown format (first bytes ${data.subarray(0, 8).toString('hex')})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** 8-bit RGB or RGBA, not interlaced: what QEMU's screendump writes. */
export function decodePng(png: Buffer): Frame {
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let o = 8; o + 8 <= png.length; ) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    const body = png.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      [width, height] = [body.readUInt32BE(0), body.readUInt32BE(4)];
      const [depth, color, interlace] = [body[8], body[9], body[12]];
      if (depth !== 8 || (color !== 2 && color !== 6) || interlace !== 0) throw new Error(`PNG: depth ${depth} colour type ${color} interlace ${interlace} is not supported`);
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    o += 12 + len;
  }
  if (channels === 0) throw new Error('PNG: no IHDR');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const x = line[i]!;
      if (filter === 0) out[i] = x;
      else if (filter === 1) out[i] = x + a;
      else if (filter === 2) out[i] = x + b;
      else if (filter === 3) out[i] = x + ((a + b) >> 1);
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        out[i] = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else throw new Error(`PNG: filter ${filter} in row ${y}`);
    }
  }
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0, j = 0; i < pixels.length; i += channels, j += 3) pixels.copy(rgb, j, i, i + 3);
  return { width, height, rgb };
}

export interface GuestPicture {
  /** Epoch ms of the first viewer grab that already showed the guest's screen. */
  firstFrameAt: number;
  match: ScreenMatch;
  frame: Frame;
  reference: Frame;
}

/**
 * Grabs the viewer every ~20 ms and compares with a fresh screendump every ~250 ms. Once
 * one matches, the earliest kept grab that shows any screendump taken so far dates the
 * first frame (to the grab interval, not the slower compare round).
 */
export async function waitForGuestPicture(v: Viewer, guest: { uri: string; domain: string }, timeoutMs: number): Promise<GuestPicture> {
  const deadline = Date.now() + timeoutMs;
  const grabs: { at: number; frame: Frame }[] = [];
  const refs: Frame[] = [];
  let lastCheck = 0;
  let best: ScreenMatch | undefined;
  for (;;) {
    const at = Date.now();
    const frame = await v.grab();
    if (grabs.length === 0 || !grabs.at(-1)!.frame.rgb.equals(frame.rgb)) grabs.push({ at, frame });
    if (grabs.length > 200) grabs.splice(1, 1);
    if (Date.now() - lastCheck >= 250) {
      lastCheck = Date.now();
      const reference = await screendump(guest);
      if (refs.length === 0 || !refs.at(-1)!.rgb.equals(reference.rgb)) refs.push(reference);
      const latest = await v.grab();
      best = findFrame(latest, reference);
      if (showsPicture(best)) {
        const { x, y } = best;
        const shows = (f: Frame): boolean => refs.some((r) => r.width === reference.width && r.height === reference.height && showsPicture(findFrame(cropFrame(f, x, y, r.width, r.height), r)));
        return { firstFrameAt: grabs.find((g) => shows(g.frame))?.at ?? Date.now(), match: best, frame: latest, reference };
      }
    }
    if (!v.isAlive()) throw new Error('remote-viewer exited before showing the guest');
    if (Date.now() > deadline) throw new Error(`the viewer did not show the guest's screen in ${timeoutMs} ms (best match ${JSON.stringify(best)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Pixels that differ between the same w×h region of two frames. */
export function changedPixels(a: Frame, b: Frame, x: number, y: number, w: number, h: number): number {
  const ca = cropFrame(a, x, y, w, h);
  const cb = cropFrame(b, x, y, w, h);
  let n = 0;
  for (let i = 0; i < ca.rgb.length; i += 3) if (ca.rgb.readUIntBE(i, 3) !== cb.rgb.readUIntBE(i, 3)) n++;
  return n;
}

/** Polls the guest's own screen until it differs from `from` in more than 300 pixels; resolves with when. */
export async function guestMovesOn(guest: { uri: string; domain: string }, from: Frame, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await screendump(guest);
    if (now.width !== from.width || now.height !== from.height || changedPixels(now, from, 0, 0, from.width, from.height) > 300) return Date.now();
    if (Date.now() > deadline) throw new Error(`the guest's screen did not change in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
