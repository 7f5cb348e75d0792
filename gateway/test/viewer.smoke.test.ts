import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cropFrame, findFrame, showsPicture, startViewer, ViewerExitedError, writePng, type Viewer } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTicketStore, startGateway, type Gateway } from '../src/index';
import { buildVvFile, type VvFileOptions } from '../src/vv-file';
import { isAlive, screendump, startGuest, stopGuest, waitForGuestPicture, waitForSerial, type Guest } from './support/guest';
import { HOST } from './support/qemu';

/** Git-ignored (/test-artifacts/ in .gitignore): the screenshots a person can look at. */
const ARTIFACTS = resolve(__dirname, '..', '..', 'test-artifacts', 'gateway-viewer');
/** What the .vv names in CONNECT mode: not resolvable here, so only the proxy can reach it. */
const TARGET = { host: 'vd-1.deskplane.example', port: 5900 };

type LogEntry = { at: number; event: string; fields: Record<string, unknown> };

describe('remote-viewer through the gateway shows the guest console (issue 6)', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: LogEntry[] = [];
  const work = mkdtempSync(join(tmpdir(), 'deskplane-viewer-test-'));
  let guest: Guest | undefined;
  let gw: Gateway | undefined;

  const mint = async (): Promise<string> =>
    (await tickets.mint({ user: 'alice', tenant: 'acme', desktop: 'vd-1', upstream: { host: HOST, port: guest!.spicePort, password }, ttlMs: 60_000 })).ticket;
  const writeVv = (name: string, o: VvFileOptions): string => {
    const file = join(work, `${name}.vv`);
    writeFileSync(file, buildVvFile(o), { mode: 0o600 });
    return file;
  };
  const open = (name: string, vvFile: string): Promise<Viewer> => startViewer({ vvFile, log: join(ARTIFACTS, `${name}.remote-viewer.log`) });
  const since = (t0: number, event: string): LogEntry[] => logs.filter((l) => l.at >= t0 && l.event === event);

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true }); // this run's artifacts only
    mkdirSync(ARTIFACTS, { recursive: true });
    guest = await startGuest({ password });
    await waitForSerial(guest, /deskplane-guest tick 1\b/);
    gw = await startGateway({
      listen: { host: HOST, port: 0 },
      httpConnect: { listen: { host: HOST, port: 0 }, allowedTargets: [`${TARGET.host}:${TARGET.port}`] },
      tickets,
      log: (event, fields) => void logs.push({ at: Date.now(), event, fields }),
      failedTickets: { maxFailures: 1_000 },
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    if (guest) await stopGuest(guest);
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * The viewer's screen must contain QEMU's own screendump of the guest (1:1, text pixels
   * equal), and ~3 s later a DIFFERENT guest screen (the counter advanced), again equal to
   * QEMU's. Returns viewer start → first guest frame.
   */
  async function showsLiveConsole(name: string, vvFile: string): Promise<number> {
    const t0 = Date.now();
    const v = await open(name, vvFile);
    try {
      const first = await waitForGuestPicture(v, guest!, 30_000);
      const firstFrameMs = first.firstFrameAt - v.startedAt;
      const shot1 = join(ARTIFACTS, `${name}-1.png`);
      writePng(shot1, first.frame);
      writePng(join(ARTIFACTS, `${name}-1.qemu.png`), first.reference);
      expect(existsSync(vvFile), 'delete-this-file=1: remote-viewer removed the .vv (and its ticket)').toBe(false);

      const tickBefore = Number((await waitForSerial(guest!, /tick (\d+)\s*$/))[1]);
      const watch = v.watchChanges({ intervalMs: 50 });
      await new Promise((r) => setTimeout(r, 3_000));
      const { changes, samples } = watch.stop();
      expect(samples).toBeGreaterThan(30);
      expect(changes.length, 'the screen changed while the counter ran').toBeGreaterThanOrEqual(3);
      let later: { frame: ReturnType<typeof cropFrame>; match: NonNullable<ReturnType<typeof findFrame>> } | undefined;
      for (let i = 0; i < 8 && later === undefined; i++) {
        const reference = await screendump(guest!);
        const frame = await v.grab();
        const m = findFrame(frame, reference);
        if (showsPicture(m)) later = { frame, match: m };
        else await new Promise((r) => setTimeout(r, 150)); // straddled one of the guest's ticks
      }
      expect(later, 'the viewer still shows what QEMU shows 3 s later').toBeDefined();
      expect([later!.match.x, later!.match.y]).toEqual([first.match.x, first.match.y]);
      const tickAfter = Number((await waitForSerial(guest!, /tick (\d+)\s*$/))[1]);
      expect(tickAfter).toBeGreaterThanOrEqual(tickBefore + 2);
      const { width, height } = first.reference;
      const a = cropFrame(first.frame, first.match.x, first.match.y, width, height);
      const b = cropFrame(later!.frame, first.match.x, first.match.y, width, height);
      let changed = 0;
      for (let i = 0; i < a.rgb.length; i += 3) if (a.rgb.readUIntBE(i, 3) !== b.rgb.readUIntBE(i, 3)) changed++;
      // A blinking cursor changes ~20 pixels; new counter lines change hundreds.
      expect(changed, 'the picture moved on with the counter').toBeGreaterThan(300);
      const shot2 = join(ARTIFACTS, `${name}-2.png`);
      writePng(shot2, later!.frame);
      console.log(
        `[${name}] first guest frame ${firstFrameMs} ms after spawn (window after ${v.firstPaintAt - v.startedAt} ms); ` +
          `guest at (${first.match.x},${first.match.y}) ${width}x${height}, ink equal ${(first.match.inkEqual * 100).toFixed(1)} %; ` +
          `ticks ${tickBefore}→${tickAfter}, ${changed} px changed, ${changes.length} changes in ${samples} samples; screenshots: ${shot1} ${shot2}`,
      );
      expect(since(t0, 'link.spliced').length, 'the channels went through the gateway').toBeGreaterThanOrEqual(2);
      return firstFrameMs;
    } finally {
      await v.close();
    }
  }

  it('direct: a .vv naming the gateway with the ticket as password → the guest console, live', async () => {
    const t0 = Date.now();
    const vv = writeVv('direct', { host: HOST, port: gw!.port, password: await mint(), title: 'vd-1 direct' });
    await showsLiveConsole('direct', vv);
    const spliced = since(t0, 'link.spliced');
    expect(spliced.every((l) => l.fields.transport === 'tcp')).toBe(true);
    expect(since(t0, 'link.refused')).toEqual([]);
  });

  it('CONNECT: a .vv with proxy= the gateway\'s CONNECT port and an unresolvable host → the same', async () => {
    const t0 = Date.now();
    const vv = writeVv('connect', { ...TARGET, password: await mint(), proxy: `http://${HOST}:${gw!.connectPort!}`, title: 'vd-1 connect' });
    await showsLiveConsole('connect', vv);
    const spliced = since(t0, 'link.spliced');
    expect(spliced.every((l) => l.fields.transport === 'connect')).toBe(true);
    expect(since(t0, 'connect.tunnel').map((l) => l.fields.target)).toContain(`${TARGET.host}:${TARGET.port}`);
    expect(since(t0, 'connect.refused')).toEqual([]);
  });

  it('a wrong ticket → link.refused with error 7, no guest picture, the viewer waits in its auth dialog', async () => {
    const t0 = Date.now();
    await mint(); // a live ticket exists; the viewer presents another one
    const vv = writeVv('wrong-ticket', { host: HOST, port: gw!.port, password: `x${randomBytes(16).toString('base64url')}` });
    const v = await open('wrong-ticket', vv);
    try {
      const deadline = Date.now() + 20_000;
      while (since(t0, 'link.refused').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const refused = since(t0, 'link.refused');
      expect(refused.map((l) => l.fields.error)).toContain(7);
      await new Promise((r) => setTimeout(r, 1_500)); // time for a picture, had there been one
      const frame = await v.grab();
      const m = findFrame(frame, await screendump(guest!));
      expect(showsPicture(m), `no guest picture (best match ${JSON.stringify(m)})`).toBe(false);
      expect(v.isAlive(), 'remote-viewer does not exit on a refused ticket').toBe(true);
      expect(since(t0, 'link.spliced')).toEqual([]);
      const shot = join(ARTIFACTS, 'wrong-ticket.png');
      writePng(shot, frame);
      console.log(`[wrong-ticket] refused with ${JSON.stringify(refused.map((l) => l.fields.error))}; screenshot: ${shot}`);
    } finally {
      await v.close();
    }
    expect(isAlive(guest!), 'the guest survived').toBe(true);
  });

  describe('the harness itself', () => {
    it('a remote-viewer that exits at once → ViewerExitedError with the tail of its output', async () => {
      const err = await startViewer({ uri: `spice://${HOST}:${gw!.port}`, args: ['--no-such-option'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ViewerExitedError);
      expect((err as ViewerExitedError).exitCode).not.toBe(0);
      expect((err as ViewerExitedError).message).toMatch(/Unknown option --no-such-option/);
    });

    it('close() ends remote-viewer and Xvfb by pid and frees the display', async () => {
      // Nothing listens on port 1: the viewer stays up with an error dialog, as a person would see.
      const v = await startViewer({ uri: `spice://${HOST}:1` });
      const running = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect([running(v.pid), running(v.xvfbPid)]).toEqual([true, true]);
      await v.close();
      expect([running(v.pid), running(v.xvfbPid)]).toEqual([false, false]);
      expect(existsSync(`/tmp/.X11-unix/X${v.display.slice(1)}`)).toBe(false);
    });
  });
});
