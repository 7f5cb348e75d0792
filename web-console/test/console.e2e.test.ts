/**
 * The browser console end to end: the built web console in Debian's chromium (playwright-core),
 * spice-html5 through the gateway's real WebSocket front to a real booting guest. The API is
 * not under test here: a stand-in answers its console route with real tickets from the
 * gateway's MemoryTicketStore (and 409 for a desktop named `starting`), named as such.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { findFrame, showsPicture, writePng, type Frame } from '@deskplane/testbed';
import { MemoryTicketStore, channelTypeOf, startGateway, type Gateway } from '@deskplane/gateway';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screendump, startGuest, stopGuest, waitForSerial, type Guest } from '../../gateway/test/support/guest';

const HOST = '127.0.0.1';
const ROOT = join(__dirname, '..');
const ARTIFACTS = join(ROOT, '..', 'test-artifacts', 'web-console');
const CHROMIUM = '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json' };

interface Canvas extends Frame {
  at: number;
}

/** The console canvas as RGB (what the user sees, before CSS scaling), with performance.now(). */
async function grabCanvas(page: Page): Promise<Canvas | undefined> {
  const got = await page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('.console__screen canvas');
    if (!c || c.width === 0) return undefined;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < d.length; i += 4) bin += String.fromCharCode(d[i]!, d[i + 1]!, d[i + 2]!);
    return { width: c.width, height: c.height, rgb: btoa(bin), at: performance.now() };
  });
  return got && { ...got, rgb: Buffer.from(got.rgb, 'base64') };
}

const lit = (f: Frame): number => {
  let n = 0;
  for (let i = 0; i < f.rgb.length; i += 3) if (f.rgb[i]! + f.rgb[i + 1]! + f.rgb[i + 2]! > 60) n++;
  return n;
};

describe('browser console through the gateway WebSocket front', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const tickets = new MemoryTicketStore();
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  const apiCalls: string[] = [];
  let guest: Guest | undefined;
  let gw: Gateway | undefined;
  let site: Server | undefined;
  let browser: Browser | undefined;
  let dist = '';
  let origin = '';
  let wsUrl = '';

  const mint = async (): Promise<string> =>
    (await tickets.mint({ user: 'alice', tenant: 'acme', desktop: 'acme/vd-1', upstream: { host: HOST, port: guest!.spicePort, password }, ttlMs: 60_000 })).ticket;
  const fragment = (ticket: string): string => `#${new URLSearchParams({ ticket, desktop: 'acme/vd-1', gateway: wsUrl }).toString()}`;

  /** A page with its browser errors collected (console.error and uncaught exceptions). */
  const open = async (): Promise<{ page: Page; errors: string[] }> => {
    const page = await browser!.newPage({ viewport: { width: 1024, height: 700 } });
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(`pageerror: ${e.message}`));
    return { page, errors };
  };
  const stateOf = (page: Page): Promise<string | null> => page.locator('[data-console-state]').getAttribute('data-console-state');
  const waitState = (page: Page, state: string, timeout = 30_000) => page.locator(`[data-console-state="${state}"]`).waitFor({ timeout });
  const inputsBytes = (): number =>
    gw!.sessions.list({ desktop: 'acme/vd-1' }).reduce((n, s) => n + s.channels.filter((c) => c.channelType === channelTypeOf('inputs')).reduce((m, c) => m + c.bytesToGuest, 0), 0);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dist = mkdtempSync(join(tmpdir(), 'deskplane-web-console-'));
    const built = spawnSync('npx', ['vite', 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
    if (built.status !== 0) throw new Error(`vite build failed: ${built.stderr || built.stdout}`);
    guest = await startGuest({ password });
    gw = await startGateway({
      listen: { host: HOST, port: 0 },
      websocket: { listen: { host: HOST, port: 0 }, path: '/spice' },
      tickets,
      log: (event, fields) => void logs.push({ event, fields }),
      failedTickets: { maxFailures: 1_000 },
    });
    wsUrl = `ws://${HOST}:${gw.websocketPort!}/spice`;
    site = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const consoleRoute = /^\/desktops\/([^/]+)\/console$/.exec(url.pathname);
      if (consoleRoute) {
        apiCalls.push(consoleRoute[1]!);
        const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (consoleRoute[1] === 'starting') return send(409, { error: { code: 'Conflict', message: 'desktop "starting" is Starting, not Running: try again once it runs' } });
        void mint().then((t) => send(200, { url: `${origin}/ui/console/vd-1${fragment(t)}`, expiresAt: new Date(Date.now() + 60_000).toISOString() }));
        return;
      }
      if (url.pathname === '/auth/me') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ user: 'alice', tenant: 'acme', groups: [], roles: ['user'] }));
      const rel = normalize(url.pathname.replace(/^\/ui\/?/, '')).replace(/^(\.\.[/\\])+/, '');
      const file = join(dist, rel);
      const target = url.pathname.startsWith('/ui/') && rel !== '.' && existsSync(file) && extname(file) ? file : join(dist, 'index.html');
      res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream' }).end(readFileSync(target));
    });
    await new Promise<void>((r) => site!.listen(0, HOST, r));
    origin = `http://${HOST}:${(site.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    await waitForSerial(guest, /deskplane-guest tick \d+/, 90_000);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (site ? site.close(() => r()) : r()));
    await gw?.close();
    if (guest) await stopGuest(guest);
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it('shows the guest console (QEMU\'s own picture), keeps it changing, and types into the guest', async () => {
    const { page, errors } = await open();
    await page.goto(`${origin}/ui/console/vd-1${fragment(await mint())}`);
    await waitState(page, 'connected');
    expect(page.url()).not.toContain('ticket='); // taken out of the address bar at once

    // First frame: the first grab with a lit picture, in ms since navigation started.
    let first: Canvas | undefined;
    for (const deadline = Date.now() + 30_000; !first && Date.now() < deadline; ) {
      const c = await grabCanvas(page);
      if (c && lit(c) > 500) first = c;
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(first, 'the canvas never showed a picture').toBeDefined();
    console.log(`page load → first frame: ${Math.round(first!.at)} ms; canvas ${first!.width}×${first!.height}, ${lit(first!)} lit pixels`);

    // The canvas is QEMU's picture of the guest (retry: the counter ticks between the two grabs).
    let matched = false;
    let best: unknown;
    for (const deadline = Date.now() + 20_000; !matched && Date.now() < deadline; ) {
      const ref = await screendump(guest!);
      const c = (await grabCanvas(page))!;
      const m = findFrame(c, ref);
      best = m;
      matched = showsPicture(m);
    }
    expect(matched, `canvas vs screendump: ${JSON.stringify(best)}`).toBe(true);

    let changed = false;
    for (const deadline = Date.now() + 10_000; !changed && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 250));
      changed = !(await grabCanvas(page))!.rgb.equals(first!.rgb);
    }
    expect(changed, 'the picture never changed as the counter ticks').toBe(true);
    writePng(join(ARTIFACTS, 'console.png'), (await grabCanvas(page))!);
    await page.screenshot({ path: join(ARTIFACTS, 'console-page.png') });

    // Scaled to the stage: the screen fills the width or the height of the area below the bar.
    const box = await page.locator('.console__screen canvas').boundingBox();
    const stage = await page.locator('.console__stage').boundingBox();
    expect(Math.max(box!.width / stage!.width, box!.height / stage!.height)).toBeGreaterThan(0.98);

    const before = inputsBytes();
    await page.locator('.console__screen canvas').click();
    await page.keyboard.type('hello deskplane');
    for (const deadline = Date.now() + 5_000; inputsBytes() <= before && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    console.log(`inputs bytes to the guest: ${before} → ${inputsBytes()}`);
    expect(inputsBytes()).toBeGreaterThan(before + 15 * 2 * 10); // key down + up per character, ≥10 bytes each
    await expect.poll(() => page.getByRole('button', { name: 'Send Ctrl+Alt+Del' }).isEnabled()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('reconnects by itself with a new ticket when the gateway drops a stable session, then offers Reconnect', async () => {
    const { page, errors } = await open();
    await page.goto(`${origin}/ui/console/vd-1${fragment(await mint())}`);
    await waitState(page, 'connected');
    await new Promise((r) => setTimeout(r, 5_500)); // a stable session (STABLE_SESSION_MS)
    const calls = apiCalls.length;
    const [first] = gw!.sessions.list({ desktop: 'acme/vd-1' });
    expect(gw!.sessions.kill(first!.key, 'test: like a live migration')).toBe(true);
    await expect.poll(() => apiCalls.length, { timeout: 10_000 }).toBe(calls + 1);
    await waitState(page, 'connected');
    const [second] = gw!.sessions.list({ desktop: 'acme/vd-1' });
    expect(second!.key).not.toBe(first!.key);

    // Dropped again right away: no loop, the user decides.
    gw!.sessions.kill(second!.key, 'test: second drop');
    await waitState(page, 'disconnected', 10_000);
    expect(apiCalls.length).toBe(calls + 1);
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await waitState(page, 'connected');
    expect(apiCalls.length).toBe(calls + 2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says so when the ticket is refused or expired (link result 7)', async () => {
    const { page, errors } = await open();
    const refusedBefore = logs.filter((l) => l.event === 'link.refused').length;
    await page.goto(`${origin}/ui/console/vd-1${fragment(randomBytes(24).toString('base64url'))}`);
    await waitState(page, 'refused');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/refused the console ticket/);
    expect(logs.filter((l) => l.event === 'link.refused').length).toBeGreaterThan(refusedBefore);
    expect(await page.getByRole('button', { name: 'Reconnect' }).isVisible()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says the desktop is not ready on 409 from the API', async () => {
    const { page, errors } = await open();
    await page.addInitScript(() => sessionStorage.setItem('deskplane.tokens', JSON.stringify({ accessToken: 'stand-in', refreshToken: 'stand-in' })));
    await page.goto(`${origin}/ui/console/starting`);
    await waitState(page, 'not-ready');
    expect(await stateOf(page)).toBe('not-ready');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Starting, not Running/);
    // The browser itself logs the 409 response; nothing else may appear.
    expect(errors.filter((e) => !/status of 409/.test(e))).toEqual([]);
    await page.close();
  });
});

