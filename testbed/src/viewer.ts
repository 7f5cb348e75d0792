import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { sleep, tail } from './process';

/**
 * A real SPICE client for tests: remote-viewer (virt-viewer) on its own Xvfb screen, with
 * the screen's pixels read in-process. Xvfb's -fbdir keeps the framebuffer in a file in XWD
 * format, so a grab is a file read — no xwd process, no X round trip — which is what lets
 * watchChanges sample every few tens of milliseconds.
 *
 * @example
 * const v = await startViewer({ vvFile: '/tmp/x.vv', log: '/tmp/rv.log' });
 * await v.screenshot('test-artifacts/console.png');
 * const w = v.watchChanges({ intervalMs: 50 });
 * await sleep(3_000);
 * console.log(w.stop().changes); // epoch ms of each picture change
 * await v.close();
 */

/**
 * Debian packages the viewer needs (`testbed up` installs them with the rest); xdotool
 * types and clicks into the viewer's Xvfb screen (XTEST) so tests can drive the inputs channel.
 */
export const VIEWER_PACKAGES: readonly string[] = ['virt-viewer', 'xvfb', 'xdotool'];

/** Raw pixels, 3 bytes per pixel (R, G, B), rows top to bottom. */
export interface Frame {
  width: number;
  height: number;
  rgb: Buffer;
}

export interface ViewerOptions {
  /** A .vv file remote-viewer opens (type=spice, host, port, password, proxy, ...). */
  vvFile?: string;
  /** Or a URI (spice://host:port); exactly one of vvFile / uri / launcher. */
  uri?: string;
  /**
   * Or a program that starts remote-viewer itself (e.g. `kubectl desktop console NAME`), run
   * on the Xvfb screen in a process group of its own; `close` stops the whole group.
   */
  launcher?: { command: string; args: readonly string[] };
  /** Xvfb screen size; default 1024×768. */
  width?: number;
  height?: number;
  /** remote-viewer's stdout+stderr (run with --debug) go here; default a temp file. */
  log?: string;
  /** Extra remote-viewer arguments (e.g. '--full-screen'). */
  args?: readonly string[];
  /** Extra environment for remote-viewer (e.g. SPICE_DEBUG=1 for spice-gtk's protocol log). */
  env?: Readonly<Record<string, string>>;
  /** How long to wait for a non-blank screen; default 20 000 ms. */
  timeoutMs?: number;
}

export interface ChangeWatch {
  /** Stops sampling; `changes` = epoch ms of each grab that differed from the one before. */
  stop(): { changes: number[]; samples: number };
}

export interface Viewer {
  /** X display, e.g. ":3". */
  display: string;
  /** remote-viewer's pid (Xvfb's is `xvfbPid`). */
  pid: number;
  xvfbPid: number;
  /** Epoch ms when remote-viewer was spawned and when the screen first showed anything. */
  startedAt: number;
  firstPaintAt: number;
  /** Path of remote-viewer's log. */
  log: string;
  grab(): Promise<Frame>;
  screenshot(pngPath: string): Promise<void>;
  watchChanges(opts: { intervalMs: number }): ChangeWatch;
  /** Is remote-viewer still running? (A refused ticket leaves it running with a dialog.) */
  isAlive(): boolean;
  close(): Promise<void>;
}

/** Thrown when remote-viewer or Xvfb exits before the screen showed anything. */
export class ViewerExitedError extends Error {
  override readonly name = 'ViewerExitedError';
  readonly code = 'VIEWER_EXITED';
  constructor(
    readonly program: string,
    readonly exitCode: number | null,
    readonly logTail: string,
  ) {
    super(`${program} exited early (code ${exitCode}); its log ends:\n${logTail}`);
  }
}

/**
 * Parses an XWD dump of a TrueColor ZPixmap at 24 or 32 bits per pixel (what Xvfb -fbdir
 * and `xwd -root` write for a 24-bit screen). The header is big-endian; pixels follow the
 * header's byte_order.
 */
export function parseXwd(buf: Buffer): Frame {
  if (buf.length < 100) throw new Error('XWD: shorter than its header');
  const h = (i: number): number => buf.readUInt32BE(i * 4);
  const headerSize = h(0);
  const [version, format, width, height, byteOrder, bpp, bytesPerLine] = [h(1), h(2), h(4), h(5), h(7), h(11), h(12)];
  const [redMask, greenMask, blueMask, ncolors] = [h(14), h(15), h(16), h(19)];
  if (version !== 7 || format !== 2) throw new Error(`XWD: version ${version} format ${format}, want 7 / ZPixmap`);
  if (bpp !== 32 && bpp !== 24) throw new Error(`XWD: ${bpp} bits per pixel is not supported`);
  const dataStart = headerSize + ncolors * 12;
  if (bytesPerLine < (width * bpp) / 8 || buf.length < dataStart + bytesPerLine * height) throw new Error('XWD: truncated image');
  const shift = (m: number): number => 31 - Math.clz32(m & -m);
  const [rs, gs, bs] = [shift(redMask), shift(greenMask), shift(blueMask)];
  // `xwd -root` on a depth-24 screen says 24 bits per pixel but stores 4 bytes per pixel:
  // the row length tells which.
  const step = bpp === 24 && bytesPerLine >= width * 4 ? 4 : bpp / 8;
  const rgb = Buffer.allocUnsafe(width * height * 3);
  // Xvfb's own layout (little-endian 0x00RRGGBB) byte by byte, in a small function V8
  // optimises well: grabs run in the same event loop as the code under test.
  if (step === 4 && byteOrder === 0 && redMask === 0xff0000 && greenMask === 0xff00 && blueMask === 0xff) {
    copyBgrx(buf, dataStart, bytesPerLine, width, height, rgb);
    return { width, height, rgb };
  }
  let o = 0;
  for (let y = 0; y < height; y++) {
    let p = dataStart + y * bytesPerLine;
    for (let x = 0; x < width; x++, p += step) {
      const v = step === 4
        ? (byteOrder === 0 ? buf.readUInt32LE(p) : buf.readUInt32BE(p))
        : byteOrder === 0 ? buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) : (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
      rgb[o++] = (v & redMask) >>> rs;
      rgb[o++] = (v & greenMask) >>> gs;
      rgb[o++] = (v & blueMask) >>> bs;
    }
  }
  return { width, height, rgb };
}

function copyBgrx(src: Uint8Array, start: number, stride: number, width: number, height: number, out: Uint8Array): void {
  let o = 0;
  for (let y = 0; y < height; y++) {
    const end = start + y * stride + width * 4;
    for (let p = start + y * stride; p < end; p += 4) {
      out[o] = src[p + 2]!;
      out[o + 1] = src[p + 1]!;
      out[o + 2] = src[p]!;
      o += 3;
    }
  }
}

/** Binary PPM (P6, maxval 255), as QEMU's `screendump` writes it. */
export function parsePpm(buf: Buffer): Frame {
  const head = /^P6\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.subarray(0, 200).toString('latin1'));
  if (!head) throw new Error('PPM: not a binary P6 header');
  const [width, height, max] = [Number(head[1]), Number(head[2]), Number(head[3])];
  if (max !== 255) throw new Error(`PPM: maxval ${max} is not supported`);
  const start = head[0].length;
  if (buf.length < start + width * height * 3) throw new Error('PPM: truncated image');
  return { width, height, rgb: Buffer.from(buf.subarray(start, start + width * height * 3)) };
}

/** Truecolour 8-bit PNG, no filtering: artifacts for people to look at, not to be small. */
export function encodePng(f: Frame): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(f.width, 0);
  ihdr.writeUInt32BE(f.height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // depth 8, colour type RGB, deflate, no filter method, no interlace
  const stride = f.width * 3;
  const raw = Buffer.alloc((stride + 1) * f.height);
  for (let y = 0; y < f.height; y++) f.rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const writePng = (path: string, f: Frame): void => writeFileSync(path, encodePng(f));

/** Number of pixels that are not pure black (Xvfb -br paints the root black). */
export function nonBlackPixels(f: Frame): number {
  let n = 0;
  for (let i = 0; i < f.rgb.length; i += 3) if (f.rgb[i] !== 0 || f.rgb[i + 1] !== 0 || f.rgb[i + 2] !== 0) n++;
  return n;
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const killer = setTimeout(() => !exited(child) && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 3_000);
  await gone;
  clearTimeout(killer);
}

async function stopGroup(pgid: number): Promise<void> {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-pgid, sig);
    } catch {
      return; // the group is gone
    }
    await sleep(sig === 'SIGTERM' ? 1_000 : 200);
  }
}

/** Xvfb with -displayfd: it picks a free display number itself and writes it on fd 3. */
async function startXvfb(dir: string, width: number, height: number, logFile: string): Promise<{ child: ChildProcess; display: string }> {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'Xvfb',
      ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-fbdir', dir, '-nolisten', 'tcp', '-br', '-noreset'],
      { stdio: ['ignore', fd, fd, 'pipe'] },
    );
  } finally {
    closeSync(fd);
  }
  child.once('error', () => undefined);
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  const display = await new Promise<string>((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not report a display in 10 s: ${tail(logFile)}`)), 10_000);
    pipe.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${got.trim()}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ViewerExitedError('Xvfb', code, tail(logFile)));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run Xvfb (${err.message}); install: apt-get install ${VIEWER_PACKAGES.join(' ')}`));
    });
  }).catch(async (err: unknown) => {
    await stopChild(child);
    throw err;
  });
  return { child, display };
}

/**
 * Starts Xvfb and remote-viewer on it and resolves once the screen shows anything (the
 * viewer's window: the guest's picture may come later — compare with the guest to know).
 * remote-viewer exiting first rejects with ViewerExitedError carrying its log's tail.
 */
export async function startViewer(opts: ViewerOptions): Promise<Viewer> {
  const target = opts.vvFile ?? opts.uri;
  if ([opts.vvFile, opts.uri, opts.launcher].filter((t) => t !== undefined).length !== 1) throw new Error('startViewer: give exactly one of vvFile, uri or launcher');
  const dir = mkdtempSync(join(tmpdir(), 'deskplane-viewer-'));
  const log = opts.log ?? join(dir, 'remote-viewer.log');
  const fbFile = join(dir, 'Xvfb_screen0');
  const children: ChildProcess[] = [];
  const groups: number[] = [];
  const cleanup = async (): Promise<void> => {
    for (const g of groups) await stopGroup(g);
    for (const c of children.reverse()) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const x = await startXvfb(dir, opts.width ?? 1024, opts.height ?? 768, join(dir, 'xvfb.log'));
    children.push(x.child);
    const fd = openSync(log, 'a');
    const startedAt = Date.now();
    let rv: ChildProcess;
    try {
      // NO_AT_BRIDGE: no accessibility bus to wait for on a bare Xvfb.
      const env = { ...process.env, ...opts.env, DISPLAY: x.display, NO_AT_BRIDGE: '1', GDK_BACKEND: 'x11' };
      rv = opts.launcher
        ? spawn(opts.launcher.command, [...opts.launcher.args], { stdio: ['ignore', fd, fd], env, detached: true })
        : spawn('remote-viewer', ['--debug', ...(opts.args ?? []), target!], { stdio: ['ignore', fd, fd], env });
    } finally {
      closeSync(fd);
    }
    let spawnError: Error | undefined;
    rv.once('error', (e) => void (spawnError = e));
    children.push(rv);
    // The launcher's own children (the viewer it started) go with it.
    if (opts.launcher && rv.pid !== undefined) groups.push(rv.pid);
    // Promise-shaped so a slower grabber (xwd over the X protocol) could replace it unchanged.
    const grab = (): Promise<Frame> => Promise.resolve().then(() => parseXwd(readFileSync(fbFile)));
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    for (;;) {
      if (spawnError) throw new Error(`cannot run remote-viewer (${spawnError.message}); install: apt-get install ${VIEWER_PACKAGES.join(' ')}`);
      if (exited(rv) || rv.pid === undefined) throw new ViewerExitedError('remote-viewer', rv.exitCode, tail(log));
      if (nonBlackPixels(await grab()) > 0) break;
      if (Date.now() > deadline) throw new Error(`remote-viewer showed nothing in ${opts.timeoutMs ?? 20_000} ms; its log ends:\n${tail(log)}`);
      await sleep(20);
    }
    const firstPaintAt = Date.now();
    return {
      display: x.display,
      pid: rv.pid,
      xvfbPid: x.child.pid!,
      startedAt,
      firstPaintAt,
      log,
      grab,
      screenshot: async (pngPath) => writePng(pngPath, await grab()),
      watchChanges: ({ intervalMs }) => watch(() => readFileSync(fbFile), intervalMs),
      isAlive: () => !exited(rv),
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Samples the raw framebuffer file on a timer and notes when it differs from the sample
 * before. Comparing the XWD bytes (not decoded pixels) keeps a sample at ~1 ms.
 */
function watch(read: () => Buffer, intervalMs: number): ChangeWatch {
  const changes: number[] = [];
  let samples = 0;
  let last: Buffer | undefined;
  const tick = (): void => {
    let cur: Buffer;
    try {
      cur = read();
    } catch {
      return; // the viewer is closing
    }
    samples++;
    if (last !== undefined && !cur.equals(last)) changes.push(Date.now());
    last = cur;
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { changes, samples };
    },
  };
}

/**
 * Where the needle's top-left corner sits in the screen; the fraction of its pixels equal
 * there, and of its `ink` (pixels not of its most common colour) equal there.
 */
export interface ScreenMatch {
  x: number;
  y: number;
  equal: number;
  inkEqual: number;
  ink: number;
}

/**
 * Finds `needle` (e.g. QEMU's screendump of the guest) inside `screen` (the viewer's root
 * window) at 1:1 scale. Offsets are screened with a sample of ink pixels (a mostly black
 * console would otherwise "match" any black area), then the best one is compared in full.
 * Undefined if the needle does not fit or no offset gets 90 % of the sample right.
 */
export function findFrame(screen: Frame, needle: Frame): ScreenMatch | undefined {
  const { width: W, height: H } = screen;
  const { width: w, height: h } = needle;
  if (w > W || h > H || w === 0 || h === 0) return undefined;
  const at = (f: Frame, i: number): number => (f.rgb[i * 3]! << 16) | (f.rgb[i * 3 + 1]! << 8) | f.rgb[i * 3 + 2]!;
  const counts = new Map<number, number>();
  for (let i = 0; i < w * h; i += 7) counts.set(at(needle, i), (counts.get(at(needle, i)) ?? 0) + 1);
  const bg = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  const inkAt: number[] = [];
  for (let i = 0; i < w * h; i++) if (at(needle, i) !== bg) inkAt.push(i);
  const pool = inkAt.length > 0 ? inkAt : [...Array(w * h).keys()];
  const n = Math.min(256, pool.length);
  const even = Array.from({ length: n }, (_, k) => pool[Math.floor((k * pool.length) / n)]!);
  // Checked in a stride order so the first few samples span the whole needle: a wrong
  // offset is then dropped after ~3 reads instead of after the whole miss budget.
  const sample = Array.from({ length: 16 }, (_, phase) => even.filter((_, k) => k % 16 === phase)).flat();
  const want = sample.map((i) => at(needle, i));
  const rel = sample.map((i) => Math.floor(i / w) * W + (i % w));
  const maxMiss = Math.floor(sample.length / 10);
  let best: { x: number; y: number; miss: number } | undefined;
  for (let y = 0; y <= H - h; y++) {
    for (let x = 0; x <= W - w; x++) {
      const base = y * W + x;
      let miss = 0;
      let k = 0;
      for (; k < rel.length && miss <= maxMiss && (k >= 16 || miss <= 2); k++) if (at(screen, base + rel[k]!) !== want[k]) miss++;
      const rejected = miss > maxMiss || k < rel.length;
      if (!rejected && (best === undefined || miss < best.miss)) best = { x, y, miss };
    }
  }
  if (best === undefined) return undefined;
  let equal = 0;
  let inkEqual = 0;
  for (let i = 0; i < w * h; i++) {
    const same = at(needle, i) === at(screen, (best.y + Math.floor(i / w)) * W + best.x + (i % w));
    if (same) equal++;
    if (same && at(needle, i) !== bg) inkEqual++;
  }
  return { x: best.x, y: best.y, equal: equal / (w * h), inkEqual: inkAt.length ? inkEqual / inkAt.length : 1, ink: inkAt.length };
}

/**
 * "The screen shows this picture": nearly every text pixel equal. A blinking cursor costs
 * well under 1 % of a console's ink; a console scrolled by one of its 25 lines matches at
 * the shifted place with ~96 %, which must NOT count. A one-colour picture never shows.
 */
export const SHOWS_PICTURE = { inkEqual: 0.99, equal: 0.99 };

export const showsPicture = (m: ScreenMatch | undefined): m is ScreenMatch =>
  m !== undefined && m.ink > 0 && m.inkEqual >= SHOWS_PICTURE.inkEqual && m.equal >= SHOWS_PICTURE.equal;

/** The part of a frame at (x, y) of size w×h (e.g. the guest's screen inside the window). */
export function cropFrame(f: Frame, x: number, y: number, w: number, h: number): Frame {
  const rgb = Buffer.alloc(w * h * 3);
  for (let r = 0; r < h; r++) f.rgb.copy(rgb, r * w * 3, ((y + r) * f.width + x) * 3, ((y + r) * f.width + x + w) * 3);
  return { width: w, height: h, rgb };
}
