/**
 * Issue 7, done-when: from a fresh clone, README command (a), then login, create a desktop,
 * download its `.vv` with curl, and remote-viewer shows the guest; the time from command to
 * first frame recorded. Then Ctrl-C stops everything and a second start finds it all again.
 *
 * The command runs exactly as the README says (`bash testbed/bin/local`, in a git clone of
 * HEAD with no node_modules), with an environment that gives it its own testbed instance,
 * subnet, data dir and free ports, so it runs beside the shared testbed and anyone's local run.
 * DESKPLANE_FRESH_CLONE_WORKTREE=1 copies the working tree's uncommitted changes over the
 * clone (to check a change before committing it).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { canConnect, readState, resolveConfig, startViewer, statePath, writePng, type TestbedState, freeHostSubnet } from '@deskplane/testbed';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, cloneHead, curl, jsonBody, leftovers, ROOT, runCommand, type Command, type CurlResult } from './support/command';
import { changedPixels, desktopUid, findGuest, guestMovesOn, waitForGuestPicture } from './support/guest-screen';

const WORKTREE = process.env.DESKPLANE_FRESH_CLONE_WORKTREE === '1';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'fresh-clone');
const API_LINE = /^\s+API\s+(http:\/\/\S+)\s/;
const PASSWORD_LINE = /^\s+(demo|demo-admin|ops)\s+password (\S+)/;
const DESKTOP = 'fresh-clone';

function parseVv(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').map((l) => /^([\w-]+)=(.*)$/.exec(l.trim())).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
}

describe('README command (a) from a fresh clone', () => {
  const id = randomBytes(3).toString('hex');
  const testbedName = `fresh-clone-${id}`;
  const stateDir = resolveConfig({ name: testbedName }).stateDir;
  const subnet = freeHostSubnet();
  const clone = mkdtempSync('/tmp/deskplane-fresh-clone-');
  const dataDir = `/var/lib/deskplane/fresh-clone-${id}`;
  const markers = [clone, dataDir, `${stateDir}/`, `127.0.${subnet}.`];
  const timings: { what: string; ms: number }[] = [];
  const note = (what: string, since: number, at = Date.now()): void => void timings.push({ what, ms: at - since });
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    // A login shell's worth of environment, nothing from this test process.
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    ...(process.env.DESKPLANE_CACHE && { DESKPLANE_CACHE: process.env.DESKPLANE_CACHE }),
    ...(process.env.DESKPLANE_TESTBED_ROOT && { DESKPLANE_TESTBED_ROOT: process.env.DESKPLANE_TESTBED_ROOT }),
    // npm ci takes the tarballs from the machine's npm cache without asking the registry whether they are current.
    npm_config_prefer_offline: 'true',
    DESKPLANE_TESTBED_NAME: testbedName,
    DESKPLANE_LOCAL_SUBNET: String(subnet),
    DESKPLANE_LOCAL_DIR: dataDir,
    DESKPLANE_LOCAL_GATEWAY_LISTEN: '127.0.0.1:0',
    DESKPLANE_LOCAL_GATEWAY_CONNECT_LISTEN: '127.0.0.1:0',
    DESKPLANE_LOCAL_API_LISTEN: '127.0.0.1:0',
    ...extra,
  });
  let run: Command | undefined;
  const runs: Command[] = [];
  const start = (extra: Record<string, string> = {}): Command => {
    run = runCommand(clone, env(extra));
    runs.push(run);
    return run;
  };
  let apiUrl = '';
  let demoPassword = '';
  let cloned = { commit: '', overlaid: [] as string[] };

  afterAll(async () => {
    for (const r of runs.filter((c) => c.child.exitCode === null && c.child.signalCode === null)) {
      r.interrupt();
      const stopped = await Promise.race([r.exited.then(() => true), new Promise((res) => setTimeout(() => res(false), 60_000))]);
      if (!stopped && r.child.pid) process.kill(-r.child.pid, 'SIGKILL');
    }
    // This test's own testbed instance (never the shared one), if a failure left it up.
    if (existsSync(stateDir) && existsSync(join(clone, 'node_modules'))) {
      await new Promise((resolve) => spawn('bash', ['testbed/bin/testbed', 'down'], { cwd: clone, env: env(), stdio: 'ignore' }).once('close', resolve));
    }
    rmSync(clone, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    if (timings.length > 0) {
      const table = ['| step | seconds |', '|---|---|', ...timings.map((t) => `| ${t.what} | ${(t.ms / 1000).toFixed(1)} |`)].join('\n');
      console.log(`[fresh-clone] commit ${cloned.commit.slice(0, 12)}${cloned.overlaid.length ? ` + ${cloned.overlaid.length} uncommitted files` : ''}\n${table}`);
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(join(ARTIFACTS, 'timings.json'), JSON.stringify({ commit: cloned.commit, overlaid: cloned.overlaid, timings }, null, 2) + '\n');
    }
  }, 180_000);

  async function login(password: string): Promise<string> {
    const r = await curl(['-X', 'POST', ...jsonBody({ username: 'demo', password }), `${apiUrl}/auth/login`]);
    expect(r.status, r.body).toBe(200);
    return (JSON.parse(r.body) as { accessToken: string }).accessToken;
  }

  /** GET /desktops/:name until it is Running with its console ready; returns when that was seen. */
  async function waitRunning(token: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const r = await curl([...bearer(token), `${apiUrl}/desktops/${DESKTOP}`]);
      last = `${r.status} ${r.body}`;
      if (r.status === 200) {
        const d = JSON.parse(r.body) as { phase: string; consoleReady: boolean };
        if (d.phase === 'Running' && d.consoleReady) return Date.now();
      }
      if (Date.now() > deadline) throw new Error(`desktop ${DESKTOP} not Running with a console within ${timeoutMs} ms; last answer: ${last}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** .vv with curl, remote-viewer on it, the guest's own screen in the viewer and moving. Returns the first frame's time. */
  async function viewerShowsGuest(token: string, label: string): Promise<{ vvAt: number; firstFrameAt: number }> {
    const vvFile = join(clone, `${label}.vv`);
    // After a restart the desktop's status says Running until the drift repair notices its
    // guest is gone (503: the console server does not answer), then Starting while it is
    // recreated (409). Retried as a script would, within the console rate limit (429 says
    // when to come back).
    const headers = join(clone, `${label}.headers`);
    const fetchVv = (): Promise<CurlResult> => curl(['-o', vvFile, '-D', headers, ...bearer(token), `${apiUrl}/desktops/${DESKTOP}/console?kind=vv`]);
    const deadline = Date.now() + 120_000;
    let r = await fetchVv();
    while ([409, 429, 503].includes(r.status) && Date.now() < deadline) {
      const retryAfter = Number(/^retry-after:\s*(\d+)/im.exec(readFileSync(headers, 'utf8'))?.[1] ?? 2);
      await new Promise((res) => setTimeout(res, retryAfter * 1000));
      r = await fetchVv();
    }
    expect(r.status, readFileSync(vvFile, 'utf8')).toBe(200);
    const vvAt = Date.now();
    const vv = parseVv(readFileSync(vvFile, 'utf8'));
    expect(vv).toMatchObject({ type: 'spice', host: '127.0.0.1', 'delete-this-file': '1' });
    // Through the gateway's CONNECT front, which the local run turns on.
    expect(vv.proxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(vv.password, 'a ticket, not empty').toMatch(/^\S{16,}$/);

    const testbed = readState(statePath(stateDir)) as TestbedState;
    const guest = await findGuest(testbed, desktopUid(dataDir, 'demo', DESKTOP));
    mkdirSync(ARTIFACTS, { recursive: true });
    const v = await startViewer({ vvFile, log: join(ARTIFACTS, `${label}.remote-viewer.log`) });
    try {
      const first = await waitForGuestPicture(v, guest, 60_000);
      writePng(join(ARTIFACTS, `${label}-1.png`), first.frame);
      expect(existsSync(vvFile), 'delete-this-file=1: remote-viewer removed the .vv with its ticket').toBe(false);
      // Under TCG the guest may still be in its BIOS: wait until its own screen has moved on
      // (the kernel's console, then a counter line every second), then the viewer must follow.
      const movedOn = await guestMovesOn(guest, first.reference, 120_000);
      const watch = v.watchChanges({ intervalMs: 50 });
      await new Promise((res) => setTimeout(res, 3_000));
      const { changes } = watch.stop();
      expect(changes.length, 'the screen changed while the guest counted').toBeGreaterThanOrEqual(2);
      const later = await waitForGuestPicture(v, guest, 10_000);
      writePng(join(ARTIFACTS, `${label}-2.png`), later.frame);
      expect([later.match.x, later.match.y]).toEqual([first.match.x, first.match.y]);
      const changed = changedPixels(first.frame, later.frame, first.match.x, first.match.y, first.reference.width, first.reference.height);
      expect(changed, 'the viewer shows the guest\'s new screen, not just a cursor blink').toBeGreaterThan(300);
      note(`${label}: first frame → guest's own screen changed (booting on)`, first.firstFrameAt, movedOn);
      return { vvAt, firstFrameAt: first.firstFrameAt };
    } finally {
      await v.close();
    }
  }

  /** What names this run's processes on their command lines; Redis names only its address. */
  const marksOf = (c: Command): string[] => [...markers, ...c.lines.map((l) => /redis ready on redis:\/\/(\S+)/.exec(l.text)?.[1]).filter((m) => m !== undefined)];

  /** Ctrl-C, then: exit 0, nothing of this run left (processes, ports, the testbed instance). */
  async function ctrlC(label: string): Promise<void> {
    const c = run!;
    const pgid = c.child.pid!;
    const marks = marksOf(c);
    const running = leftovers(marks, pgid).join('\n');
    const t = Date.now();
    c.interrupt();
    const code = await Promise.race([c.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
    note(`${label}: Ctrl-C → command exited`, t);
    // The scan saw each part while it ran, so an empty scan now means they are gone.
    for (const part of [/qemu-system/, /libvirtd/, /redis-server/, /node .*services\/local\/src\/main\.ts/]) expect(running, `${part} of this run was seen while it ran`).toMatch(part);
    expect(code, c.output().slice(-3000)).toBe(0);
    expect(c.output()).toContain('stopping…');
    expect(c.output()).toContain(`testbed "${testbedName}" is down`);
    expect(leftovers(marks, pgid), 'processes of this run after Ctrl-C (node, esbuild, virsh, QEMU, libvirtd, Redis)').toEqual([]);
    const api = new URL(apiUrl);
    expect(await canConnect(api.hostname, Number(api.port)), 'the API port is closed').toBe(false);
    expect(existsSync(stateDir), 'the testbed instance is gone').toBe(false);
  }

  it('runs from a fresh clone: API up, a desktop created with curl runs, and its .vv shows the guest in remote-viewer', async () => {
    cloned = cloneHead(clone, WORKTREE);
    expect(existsSync(join(clone, 'node_modules'))).toBe(false);
    // The command below is the README's own first command.
    expect(readFileSync(join(clone, 'README.md'), 'utf8')).toMatch(/^bash testbed\/bin\/local\s+# \(a\)/m);

    run = start();
    const t0 = run.startedAt;
    note('npm ci done (first line of `testbed up`)', t0, (await run.waitFor(/^\[testbed\]/, 600_000)).line.at);
    note('testbed up', t0, (await run.waitFor(/^state file\s/, 300_000)).line.at);
    const apiLine = await run.waitFor(API_LINE, 300_000);
    note('API URL and demo logins printed', t0, apiLine.line.at);
    apiUrl = apiLine.match[1]!;
    const passwords = Object.fromEntries(run.lines.map((l) => PASSWORD_LINE.exec(l.text)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
    expect(Object.keys(passwords).sort()).toEqual(['demo', 'demo-admin', 'ops']);
    demoPassword = passwords.demo!;

    const token = await login(demoPassword);
    note('demo logged in (curl)', t0);
    // Failure paths through the same real curl: a wrong password, no token, someone else's name.
    expect((await curl(['-X', 'POST', ...jsonBody({ username: 'demo', password: `${demoPassword}x` }), `${apiUrl}/auth/login`])).status).toBe(401);
    expect((await curl([`${apiUrl}/desktops/${DESKTOP}`])).status).toBe(401);
    expect((await curl([...bearer(token), `${apiUrl}/desktops/no-such-desktop/console?kind=vv`])).status).toBe(404);

    const templates = await curl([...bearer(token), `${apiUrl}/templates`]);
    expect(templates.status, templates.body).toBe(200);
    expect(templates.body).toContain('"busybox"');
    const created = await curl(['-X', 'POST', ...bearer(token), ...jsonBody({ name: DESKTOP, template: 'busybox' }), `${apiUrl}/desktops`]);
    expect(created.status, created.body).toBe(201);
    const createdAt = Date.now();
    expect((await curl(['-X', 'POST', ...bearer(token), ...jsonBody({ name: DESKTOP, template: 'busybox' }), `${apiUrl}/desktops`])).status, 'the same name again').toBe(409);

    const runningAt = await waitRunning(token, 240_000);
    note('desktop Running (GET)', t0, runningAt);
    note('  of which: create → Running', createdAt, runningAt);
    const { vvAt, firstFrameAt } = await viewerShowsGuest(token, 'first-start');
    note('.vv downloaded (curl)', t0, vvAt);
    note('first guest frame in remote-viewer', t0, firstFrameAt);
    note('  of which: .vv → first frame', vvAt, firstFrameAt);
  }, 1_200_000);

  it('Ctrl-C stops every part: no node, QEMU, libvirtd or Redis of the run is left', async () => {
    expect(run, 'the first start ran').toBeDefined();
    await ctrlC('first start');
  }, 180_000);

  it('a second start finds the users, the desktop and its guest again', async () => {
    expect(demoPassword, 'the first start ran').not.toBe('');
    run = start();
    const t0 = run.startedAt;
    const apiLine = await run.waitFor(API_LINE, 300_000);
    note('second start: API URL printed', t0, apiLine.line.at);
    apiUrl = apiLine.match[1]!;
    expect(run.output()).not.toContain('wrote the demo users');
    expect(run.output()).not.toContain('created VirtualDesktop');
    expect(run.output()).toMatch(new RegExp(`^\\s+demo\\s+password ${demoPassword}\\s`, 'm'));
    const token = await login(demoPassword);
    const found = await curl([...bearer(token), `${apiUrl}/desktops/${DESKTOP}`]);
    expect(found.status, found.body).toBe(200);
    expect(JSON.parse(found.body)).toMatchObject({ name: DESKTOP, tenant: 'demo', owner: 'demo', template: 'busybox' });
    note('second start: desktop found (GET)', t0);
    const again = await viewerShowsGuest(token, 'second-start');
    note('second start: .vv downloaded (guest recreated, console answers)', t0, again.vvAt);
    note('second start: first guest frame', t0, again.firstFrameAt);
    await ctrlC('second start');
  }, 600_000);

  it('a busy API port stops the start with a message naming the setting, and leaves nothing running', async () => {
    expect(existsSync(join(clone, 'node_modules')), 'the first start ran').toBe(true);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      run = start({ DESKPLANE_LOCAL_API_LISTEN: `127.0.0.1:${port}` });
      const code = await Promise.race([run.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 240_000))]);
      expect(code, run.output().slice(-3000)).toBe(1);
      expect(run.output()).toMatch(new RegExp(`the API cannot listen on 127\\.0\\.0\\.1:${port} .*set DESKPLANE_LOCAL_API_LISTEN`));
      expect(run.output()).toContain(`testbed "${testbedName}" is down`);
      expect(marksOf(run).length, 'the Redis address was printed').toBe(markers.length + 1);
      expect(leftovers(marksOf(run), run.child.pid), 'processes left after the failed start').toEqual([]);
      expect(existsSync(stateDir), 'the testbed instance is gone').toBe(false);
    } finally {
      blocker.close();
    }
  }, 300_000);
});
