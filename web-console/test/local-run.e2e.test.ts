/**
 * Issue 8, done-when: the web console end to end on the local run, in Debian's chromium
 * (playwright-core). Sign in, create a desktop, wait for Running, open it in the browser and
 * see the guest's own picture, type into it; then as ops the dashboard lists the host and
 * the live session, Drain on that host live-migrates the desktop, and the console keeps
 * showing a changing picture through it. Also writes the README's screenshots (docs/).
 *
 * The local run starts in this process on its own testbed instance (Redis and two libvirtd
 * hosts on a subnet of its own, no kube-apiserver), so draining a host touches no other
 * suite's guests; the instance is taken down again afterwards.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import { localApi, startLocal, type RunningLocal } from '@deskplane/local';
import { channelTypeOf } from '@deskplane/gateway';
import type { KubeObject } from '@deskplane/resource-store';
import { down, findFrame, showsPicture, up, writePng, type Frame, type TestbedState, freeHostSubnet } from '@deskplane/testbed';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopUid, findGuest, screendump } from '../../services/local/test/support/guest-screen';

const ROOT = join(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'web-console-local');
const DOCS = join(ROOT, 'docs', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const LAPTOP = { width: 1280, height: 800 };
const DESKTOP = 'web-e2e';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The console canvas as RGB, as the guest drew it (before CSS scaling). */
async function grabCanvas(page: Page): Promise<Frame | undefined> {
  const got = await page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('.console__screen canvas');
    if (!c || c.width === 0) return undefined;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < d.length; i += 4) bin += String.fromCharCode(d[i]!, d[i + 1]!, d[i + 2]!);
    return { width: c.width, height: c.height, rgb: btoa(bin) };
  });
  return got && { ...got, rgb: Buffer.from(got.rgb, 'base64') };
}

const lit = (f: Frame): number => {
  let n = 0;
  for (let i = 0; i < f.rgb.length; i += 3) if (f.rgb[i]! + f.rgb[i + 1]! + f.rgb[i + 2]! > 60) n++;
  return n;
};

async function waitForFile(path: string, re: RegExp, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (re.test(text)) return;
    if (Date.now() > deadline) throw new Error(`${path} did not show ${re} in ${timeoutMs} ms; it ends: ${text.slice(-300)}`);
    await sleep(250);
  }
}

interface Watched {
  page: Page;
  errors: string[];
}

describe('the web console on the local run', () => {
  const id = randomBytes(3).toString('hex');
  const testbedName = `web-e2e-${id}`;
  let testbed: TestbedState | undefined;
  let local: RunningLocal | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const events: string[] = [];
  let origin = '';
  let user: Watched | undefined;

  const passwordOf = (name: string): string => local!.identity.credentials.find((c) => c.username === name)!.password;
  const sessionsOf = () => local!.gateway.gateway.sessions.list({ desktop: `demo/${DESKTOP}` });
  const inputsBytes = (): number =>
    sessionsOf().reduce((n, s) => n + s.channels.filter((c) => c.channelType === channelTypeOf('inputs')).reduce((m, c) => m + c.bytesToGuest, 0), 0);
  const hostOf = async (): Promise<string | undefined> =>
    (await local!.store.client<KubeObject & { status?: { host?: string } }>(RESOURCE_TYPES.VirtualDesktop).get(DESKTOP, 'demo'))?.status?.host;

  /** A laptop-sized page in its own context (own sessionStorage, so its own sign-in), errors collected. */
  const open = async (): Promise<Watched> => {
    const ctx = await browser!.newContext({ viewport: LAPTOP });
    contexts.push(ctx);
    const page = await ctx.newPage();
    const errors: string[] = [];
    // With the URL: Chromium's "Failed to load resource" line names none.
    page.on('console', (m) => void (m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`)));
    page.on('pageerror', (e) => void errors.push(`pageerror: ${e.message}`));
    return { page, errors };
  };

  const signIn = async (page: Page, name: string): Promise<void> => {
    await page.goto(`${origin}/ui/`);
    await page.getByLabel('User name').fill(name);
    await page.getByLabel('Password').fill(passwordOf(name));
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  /** A docs screenshot at laptop size (or the whole page at laptop width), small enough to commit. */
  const docShot = async (page: Page, file: string, fullPage = false): Promise<number> => {
    mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: join(DOCS, file), fullPage });
    const size = statSync(join(DOCS, file)).size;
    expect(size, `${file} is ${size} bytes`).toBeLessThan(300_000);
    return size;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    testbed = await up({ name: testbedName, hostSubnet: freeHostSubnet(), parts: { redis: true, kube: false, hosts: true } });
    const any = { host: '127.0.0.1', port: 0 };
    local = await startLocal({
      testbed,
      // Under the instance's state dir: every simulated host sees it at the same path.
      dataDir: join(testbed.stateDir, 'local'),
      redisPrefix: `web-e2e-${id}`,
      log: (m) => void events.push(m),
      gateway: { listen: any, connectListen: any, websocketListen: any },
      api: localApi({ listen: any }),
    });
    origin = local.apiUrl!.replace(/\/$/, '');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 600_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await local?.close();
    // Only this test's own instance; its state dir (and the run's data dir in it) goes too.
    if (testbed) await down({ name: testbedName });
  }, 300_000);

  it('signs in, creates a desktop, and waits for it to run', async () => {
    user = await open();
    const { page } = user;
    await signIn(page, 'demo');
    await page.getByRole('heading', { name: 'My desktops' }).waitFor();
    await page.getByRole('button', { name: 'New desktop' }).click();
    await page.getByLabel('Name').fill(DESKTOP);
    const template = page.getByLabel('Template');
    await expect.poll(() => template.locator('option').count()).toBeGreaterThan(1);
    await template.selectOption('busybox');
    const created = Date.now();
    await page.getByRole('button', { name: 'Create desktop' }).click();

    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: DESKTOP, exact: true }) });
    await card.waitFor({ timeout: 10_000 });
    await card.getByRole('link', { name: 'Open in browser' }).waitFor({ timeout: 240_000 });
    expect(await card.locator('.badge__label').textContent()).toBe('Running');
    console.log(`create → Running with a console in the list: ${((Date.now() - created) / 1000).toFixed(1)} s`);
    // The demo desktop runs too by now, for a portal screenshot with two cards.
    const demo = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'demo-desktop', exact: true }) });
    await demo.getByRole('link', { name: 'Open in browser' }).waitFor({ timeout: 240_000 });
    await page.mouse.move(0, 0);
    console.log(`docs/screenshots/portal.png: ${await docShot(page, 'portal.png')} bytes`);
  }, 600_000);

  it('opens the console in the browser: the guest\'s own picture, changing, and typing reaches the guest', async () => {
    const { page, errors } = user!;
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: DESKTOP, exact: true }) });
    await card.getByRole('link', { name: 'Open in browser' }).click();
    await page.locator('[data-console-state="connected"]').waitFor({ timeout: 30_000 });

    let first: Frame | undefined;
    for (const deadline = Date.now() + 30_000; !first && Date.now() < deadline; ) {
      const c = await grabCanvas(page);
      if (c && lit(c) > 500) first = c;
      else await sleep(50);
    }
    expect(first, 'the canvas never showed a picture').toBeDefined();

    // The canvas is QEMU's picture of this desktop's guest (retried: the counter ticks between grabs).
    const guest = await findGuest(testbed!, desktopUid(join(testbed!.stateDir, 'local'), 'demo', DESKTOP));
    // Booted: the counter runs (the picture before that is SeaBIOS's).
    await waitForFile(join(testbed!.stateDir, 'local', 'storage', `${guest.domain}.serial.log`), /deskplane-guest tick \d+/, 120_000);
    let best: unknown;
    let matched = false;
    for (const deadline = Date.now() + 30_000; !matched && Date.now() < deadline; ) {
      const ref = await screendump(guest);
      const m = findFrame((await grabCanvas(page))!, ref);
      best = m;
      matched = showsPicture(m);
    }
    expect(matched, `canvas vs screendump: ${JSON.stringify(best)}`).toBe(true);
    let changed = false;
    for (const deadline = Date.now() + 15_000; !changed && Date.now() < deadline; ) {
      await sleep(250);
      changed = !(await grabCanvas(page))!.rgb.equals(first!.rgb);
    }
    expect(changed, 'the picture never changed as the counter ticks').toBe(true);
    const shown = (await grabCanvas(page))!;
    writePng(join(ARTIFACTS, 'console-canvas.png'), shown);
    console.log(`canvas ${shown.width}×${shown.height}, ${lit(shown)} lit pixels; artifact ${join(ARTIFACTS, 'console-canvas.png')}`);

    const before = inputsBytes();
    await page.locator('.console__screen canvas').click();
    await page.keyboard.type('hello deskplane');
    for (const deadline = Date.now() + 5_000; inputsBytes() <= before + 300 && Date.now() < deadline; ) await sleep(50);
    console.log(`inputs bytes to the guest: ${before} → ${inputsBytes()}`);
    expect(inputsBytes()).toBeGreaterThan(before + 15 * 2 * 10); // key down + up per character, ≥ 10 bytes each
    await page.mouse.move(0, 0);
    console.log(`docs/screenshots/console.png: ${await docShot(page, 'console.png')} bytes`);
    expect(errors).toEqual([]);
  }, 180_000);

  it('shows the host and the live session to ops; Drain migrates the desktop and the console keeps a changing picture', async () => {
    const console1 = user!.page;
    const ops = await open();
    const { page } = ops;
    const visited: string[] = [];
    page.on('framenavigated', (f) => void (f === page.mainFrame() && visited.push(f.url())));
    await signIn(page, 'ops');
    await page.getByRole('link', { name: 'Ops', exact: true }).click();
    await page.getByRole('heading', { name: 'Operations', exact: true }).waitFor().catch(async (err: Error) => {
      await page.screenshot({ path: join(ARTIFACTS, 'ops-failed.png') });
      throw new Error(`${err.message}\nvisited ${visited.join(' → ')}, at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 300)}\nerrors: ${ops.errors.join('\n')}`);
    });
    const from = (await hostOf())!;
    expect(from).toBeTruthy();
    const hosts = page.locator('#ops-hosts');
    const sessions = page.locator('#ops-sessions');
    await hosts.getByRole('rowheader', { name: new RegExp(`^${from}`) }).waitFor({ timeout: 15_000 });
    const sessionRow = sessions.getByRole('row').filter({ hasText: DESKTOP });
    await sessionRow.first().waitFor({ timeout: 15_000 });
    expect(await sessionRow.first().getByRole('rowheader').textContent()).toMatch(/^demo/);
    // The bandwidth chart draws from samples this page took: 20 s of them make a readable line.
    await sleep(20_000);

    // Watch the console page from here on: when did its picture last change?
    let watching = true;
    const drainedAt = Date.now();
    const changes: number[] = [];
    const states: string[] = [];
    const watcher = (async () => {
      let last: Buffer | undefined;
      while (watching) {
        const st = await console1.locator('[data-console-state]').getAttribute('data-console-state').catch(() => 'gone');
        if (states.at(-1)?.split('@')[0] !== st) states.push(`${st}@${((Date.now() - drainedAt) / 1000).toFixed(1)}s`);
        const c = await grabCanvas(console1).catch(() => undefined);
        if (c && lit(c) > 500 && (!last || !c.rgb.equals(last))) changes.push(Date.now());
        if (c) last = c.rgb;
        await sleep(200);
      }
    })();

    await hosts.getByRole('button', { name: `Drain ${from}` }).click();
    await hosts.getByRole('group', { name: `Drain ${from}` }).getByRole('button', { name: `Drain ${from}` }).click();
    await hosts.getByRole('button', { name: `Undrain ${from}` }).waitFor({ timeout: 15_000 });

    // In flight (the table polls every 2 s; a short migration may only show as finished).
    const migrations = page.locator('#ops-migrations');
    let seenInFlight = false;
    let finishedAt = 0;
    for (const deadline = Date.now() + 180_000; !finishedAt && Date.now() < deadline; ) {
      if (!seenInFlight && (await migrations.getByRole('rowheader', { name: `demo/${DESKTOP}` }).count())) {
        seenInFlight = true;
        // For the README: a draining host, the migration's progress, the live session, and the
        // chart below them (the whole page, laptop width).
        await page.mouse.move(0, 0);
        console.log(`docs/screenshots/ops.png: ${await docShot(page, 'ops.png', true)} bytes`);
      }
      const done = migrations.locator('.ops-recent li').filter({ hasText: `demo/${DESKTOP}` });
      if (await done.count()) {
        expect(await done.first().textContent()).toContain('Succeeded');
        finishedAt = Date.now();
      } else await sleep(250);
    }
    expect(finishedAt, 'the migration never showed as finished on the dashboard').toBeGreaterThan(0);
    const to = await hostOf();
    expect(to).not.toBe(from);
    console.log(`drain ${from} → migration of demo/${DESKTOP} to ${to} finished on the dashboard after ${((finishedAt - drainedAt) / 1000).toFixed(1)} s; seen in flight: ${seenInFlight}`);

    // The console picture changes again after the migration (it may have reconnected once).
    for (const deadline = finishedAt + 30_000; !changes.some((t) => t > finishedAt + 1_000) && Date.now() < deadline; ) await sleep(250);
    watching = false;
    await watcher;
    const rel = (t: number): string => ((t - drainedAt) / 1000).toFixed(1);
    const story = `console states ${states.join(', ')}; picture changes at ${changes.filter((t) => t >= drainedAt).map(rel).join(', ')} s; migration finished at ${rel(finishedAt)} s; sessions now ${sessionsOf().map((s) => `${s.key} since ${s.openedAt}`).join(', ')}`;
    console.log(story);
    await console1.screenshot({ path: join(ARTIFACTS, 'console-after-migration.png') });
    expect(changes.some((t) => t > finishedAt + 1_000), `the console picture did not change within 30 s after the migration: ${story}`).toBe(true);
    const around = changes.filter((t) => t >= drainedAt);
    const gap = around.reduce((g, t, i) => (i === 0 ? Math.max(g, t - drainedAt) : Math.max(g, t - around[i - 1]!)), 0);
    console.log(`console picture changes from drain to after the migration: ${around.length}; longest gap ${(gap / 1000).toFixed(1)} s; state ${await console1.locator('[data-console-state]').getAttribute('data-console-state')}`);
    await console1.locator('[data-console-state="connected"]').waitFor({ timeout: 15_000 });

    // Typing still reaches the guest through the new route.
    const before = inputsBytes();
    await console1.locator('.console__screen canvas').click();
    await console1.keyboard.type('after');
    for (const deadline = Date.now() + 5_000; inputsBytes() <= before && Date.now() < deadline; ) await sleep(50);
    expect(inputsBytes()).toBeGreaterThan(before);

    // The dashboard lists the session again, on the desktop's new route.
    await sessionRow.first().waitFor({ timeout: 15_000 });
    expect(ops.errors).toEqual([]);
    // While the desktop moves, the console's automatic retries get 409 (Migrating) from the
    // API, which the browser logs as failed loads; nothing else may appear.
    expect(user!.errors.filter((e) => !/status of 409.*\/console\?kind=browser/.test(e))).toEqual([]);
  }, 400_000);

  it('refuses a wrong password on the sign-in page and stays there', async () => {
    const { page, errors } = await open();
    await page.goto(`${origin}/ui/`);
    await page.getByLabel('User name').fill('demo');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBeTruthy();
    expect(await page.getByRole('heading', { name: 'Sign in to Deskplane' }).isVisible()).toBe(true);
    // The browser itself logs the 401 response; nothing else may appear.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
