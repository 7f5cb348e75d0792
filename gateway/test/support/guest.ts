import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, cropFrame, findFrame, freePort, loadState, parsePpm, showsPicture, type Frame, type ScreenMatch, type Viewer } from '@deskplane/testbed';
import { HOST } from './qemu';

/**
 * A BOOTING guest in QEMU, started directly (no libvirt): the testbed's kernel + initrd,
 * whose VGA text console prints "deskplane-guest tick N" every second — a picture that
 * changes, for tests that need a real display. QMP on a unix socket for `screendump` and
 * `query-status`. qemu.ts beside this starts a paused, diskless QEMU for link-only tests.
 */
export interface Guest {
  pid: number;
  spicePort: number;
  password: string;
  /** The guest's serial console (the counter goes there too). */
  serialLog: string;
  child: ChildProcess;
  dir: string;
  /** Serialises QMP sessions: the monitor chardev serves one client at a time. */
  qmpQueue: Promise<unknown>;
}

export interface GuestOptions {
  password: string;
  spicePort?: number;
  memoryMb?: number;
  /** Appended to the testbed image's kernel command line. */
  extraCmdline?: string;
  /** Extra QEMU arguments (e.g. `-audiodev`), appended last. */
  extraArgs?: readonly string[];
}

export async function startGuest(opts: GuestOptions): Promise<Guest> {
  const image = loadState().guestImage;
  if (!image) throw new Error('the testbed has no guest image; run testbed/bin/testbed up');
  const spicePort = opts.spicePort ?? (await freePort(HOST));
  const dir = mkdtempSync(join(tmpdir(), 'deskplane-guest-'));
  const serialLog = join(dir, 'serial.log');
  const cmdline = [image.cmdline, opts.extraCmdline].filter(Boolean).join(' ');
  const child = spawn(
    'qemu-system-x86_64',
    [
      '-accel', 'tcg', '-m', String(opts.memoryMb ?? 256), '-nodefaults', '-no-reboot',
      '-vga', 'qxl', '-display', 'none',
      '-kernel', image.kernel, '-initrd', image.initrd, '-append', cmdline,
      '-serial', `file:${serialLog}`,
      '-spice', `port=${spicePort},addr=${HOST},password-secret=spice0`,
      '-object', `secret,id=spice0,data=${opts.password}`,
      '-qmp', `unix:${join(dir, 'qmp.sock')},server=on,wait=off`,
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4_000)));
  child.once('error', (err) => void (stderr += String(err)));
  const guest: Guest = { pid: child.pid ?? -1, spicePort, password: opts.password, serialLog, child, dir, qmpQueue: Promise.resolve() };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && isAlive(guest)) {
    if (await canConnect(HOST, spicePort, 500)) return guest;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopGuest(guest);
  throw new Error(`QEMU did not start listening on SPICE port ${spicePort}: ${stderr.trim()}`);
}

export function isAlive(g: Guest): boolean {
  return g.pid > 0 && g.child.exitCode === null && g.child.signalCode === null;
}

/** SIGTERM by pid, SIGKILL after 5 s; removes the QMP socket and serial log. */
export async function stopGuest(g: Guest): Promise<void> {
  if (isAlive(g)) {
    const gone = new Promise<void>((resolve) => g.child.once('exit', () => resolve()));
    process.kill(g.pid, 'SIGTERM');
    const killer = setTimeout(() => isAlive(g) && process.kill(g.pid, 'SIGKILL'), 5_000);
    await gone;
    clearTimeout(killer);
  }
  rmSync(g.dir, { recursive: true, force: true });
}

/** One QMP command (its own session: greeting, qmp_capabilities, command); resolves `return`. */
export function qmp(g: Guest, execute: string, args?: Record<string, unknown>): Promise<unknown> {
  const run = g.qmpQueue.then(() => qmpSession(join(g.dir, 'qmp.sock'), execute, args));
  g.qmpQueue = run.catch(() => undefined);
  return run;
}

function qmpSession(path: string, execute: string, args?: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let step = 0; // 0 greeting, 1 capabilities answer, 2 command answer
    const timer = setTimeout(() => done(new Error(`QMP ${execute}: no answer in 10 s`)), 10_000);
    const done = (err: Error | undefined, value?: unknown): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    sock.on('error', (err) => done(new Error(`QMP ${execute}: ${err.message}`)));
    sock.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const msg = JSON.parse(buf.slice(0, nl)) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string };
        buf = buf.slice(nl + 1);
        if (msg.event !== undefined) continue;
        if (msg.error) return done(new Error(`QMP ${execute}: ${msg.error.desc}`));
        if (step === 0) sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        else if (step === 1) sock.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }) + '\n');
        else return done(undefined, msg.return);
        step++;
      }
    });
  });
}

/** QEMU's own picture of the guest's screen (what the SPICE client should show). */
export async function screendump(g: Guest): Promise<Frame> {
  const file = join(g.dir, `screen-${Date.now()}.ppm`);
  await qmp(g, 'screendump', { filename: file });
  try {
    return parsePpm(readFileSync(file));
  } finally {
    rmSync(file, { force: true });
  }
}

export async function queryStatus(g: Guest): Promise<string> {
  return ((await qmp(g, 'query-status')) as { status: string }).status;
}

/** Waits until the serial console matches `re`; returns the match. */
export async function waitForSerial(g: Guest, re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(g.serialLog, 'utf8');
    } catch {
      /* not created yet */
    }
    const m = re.exec(text);
    if (m) return m;
    if (!isAlive(g)) throw new Error(`the guest exited before its serial console showed ${re}`);
    if (Date.now() > deadline) throw new Error(`the guest's serial console did not show ${re} in ${timeoutMs} ms; it ends: ${text.slice(-300)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A viewer picture that is the guest's screen, 1:1, as QEMU itself renders it. */
export interface GuestPicture {
  /** Epoch ms of the earliest grab that already showed this picture. */
  firstFrameAt: number;
  match: ScreenMatch;
  frame: Frame;
  reference: Frame;
}

/**
 * Polls the viewer until its screen contains QEMU's own screendump of the guest. Every
 * distinct grab and screendump is kept with its time, so once a match is found the first
 * frame is the earliest grab that showed any of the guest's screens at that place:
 * resolution is the grab interval (tens of ms), not the slower screendump + search round.
 */
export async function waitForGuestPicture(v: Viewer, g: Guest, timeoutMs = 30_000): Promise<GuestPicture> {
  const deadline = Date.now() + timeoutMs;
  const grabs: { at: number; frame: Frame }[] = [];
  const refs: Frame[] = [];
  let lastCheck = 0;
  let last: ScreenMatch | undefined;
  for (;;) {
    const at = Date.now();
    const frame = await v.grab();
    if (grabs.length === 0 || !grabs.at(-1)!.frame.rgb.equals(frame.rgb)) grabs.push({ at, frame });
    if (grabs.length > 200) grabs.splice(1, 1); // bounded memory; the oldest ones matter most
    if (Date.now() - lastCheck >= 250) {
      lastCheck = Date.now();
      const reference = await screendump(g);
      if (refs.length === 0 || !refs.at(-1)!.rgb.equals(reference.rgb)) refs.push(reference);
      const latest = await v.grab();
      last = findFrame(latest, reference);
      if (showsPicture(last)) {
        const { x, y } = last;
        const shows = (f: Frame): boolean =>
          refs.some((r) => r.width === reference.width && r.height === reference.height && showsPicture(findFrame(cropFrame(f, x, y, r.width, r.height), r)));
        const first = grabs.find((s) => shows(s.frame));
        return { firstFrameAt: first?.at ?? Date.now(), match: last, frame: latest, reference };
      }
    }
    if (!v.isAlive()) throw new Error('remote-viewer exited before showing the guest');
    if (Date.now() > deadline) throw new Error(`the viewer did not show the guest's screen in ${timeoutMs} ms (best match ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
