/**
 * Issue 9, done-when: on the testbed, `kubectl desktop console NAME` launches remote-viewer
 * connected through the gateway (its screen holds QEMU's own picture of the guest; the
 * screenshot is kept in test-artifacts/kubectl-desktop/), and `kubectl desktop drain host-1`
 * moves the desktops off that host.
 *
 * Everything is real: the product (operator, orchestrator, two host agents, gateway, API) runs
 * in this process on a testbed instance of its own (its own kube-apiserver, Redis and two
 * libvirtd hosts), resources live in that kube-apiserver, and the plugin runs through the real
 * kubectl. The desktop user is a ServiceAccount in the tenant's namespace: its token goes from
 * the kubeconfig to the API, which asks the cluster (TokenReview) who it is.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { API_VERSION } from '@deskplane/api';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import { localApi, startLocal, type RunningLocal } from '@deskplane/local';
import type { KubeObject } from '@deskplane/resource-store';
import { down, findFrame, showsPicture, startViewer, up, writePng, type TestbedState, type Viewer, freeHostSubnet } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGuest, screendump } from '@deskplane/testbed';

const ROOT = join(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'kubectl-desktop');
const NS = 'demo';
const USER_SA = 'alice';
const DESKTOPS = ['kd-one', 'kd-two'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Desktop = KubeObject & { spec: { owner?: string }; status?: { phase?: string; host?: string } };

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, maxBuffer: 16 << 20, timeout: 600_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** A kubeconfig like `base` but authenticating with `token` and defaulting to `namespace`. */
function kubeconfigFor(base: string, token: string, namespace: string, file: string): string {
  const text = readFileSync(base, 'utf8')
    .replace(/^(\s*token:\s*).*$/m, `$1${token}`)
    .replace(/^(\s*namespace:\s*).*$/m, `$1${namespace}`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

describe('kubectl desktop on the testbed', () => {
  const id = randomBytes(3).toString('hex');
  const testbedName = `kd-e2e-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kd-e2e-'));
  const bin = join(work, 'bin');
  let testbed: TestbedState | undefined;
  let local: RunningLocal | undefined;
  let viewer: Viewer | undefined;
  let adminEnv: NodeJS.ProcessEnv = {};
  let userEnv: NodeJS.ProcessEnv = {};
  const events: string[] = [];

  const kubectl = (args: string[], env = adminEnv, input?: string) => sh(testbed!.kube!.kubectl, args, env, input);
  const must = async (args: string[], env = adminEnv, input?: string): Promise<string> => {
    const r = await kubectl(args, env, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} → ${r.code}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const desktops = () => local!.store.client<Desktop>(RESOURCE_TYPES.VirtualDesktop);
  const desktop = async (name: string): Promise<Desktop> => (await desktops().get(name, NS))!;
  const waitFor = async (what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
    for (const deadline = Date.now() + timeoutMs; !(await ok()); await sleep(500)) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen in ${timeoutMs / 1000} s; local run said: ${events.slice(-5).join(' | ')}`);
    }
  };
  /** The viewer's screen holds the guest's own picture (retried: the guest's counter ticks between grabs). */
  const viewerShowsGuest = async (name: string, timeoutMs: number): Promise<boolean> => {
    const uid = (await desktop(name)).metadata.uid!;
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(300)) {
      const guest = await findGuest(testbed!, uid).catch(() => undefined);
      if (guest && showsPicture(findFrame(await viewer!.grab(), await screendump(guest)))) return true;
    }
    return false;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    testbed = await up({ name: testbedName, hostSubnet: freeHostSubnet(), parts: { redis: true, kube: true, hosts: true } });
    const kube = testbed.kube!;
    const install = await sh(join(ROOT, 'kubectl-plugin', 'bin', 'install'), ['--prefix', bin]);
    expect(install.code, install.stderr).toBe(0);
    const path = `${bin}:${dirname(kube.kubectl)}:${process.env.PATH}`;
    adminEnv = { ...process.env, PATH: path, KUBECONFIG: kubeconfigFor(kube.kubeconfig, kube.adminToken, NS, join(work, 'admin.kubeconfig')) };

    await must(['apply', '-f', join(ROOT, 'packages', 'api', 'crds')]);
    await must(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    await must(['create', 'namespace', NS]);

    // The user: a ServiceAccount of the tenant's namespace, allowed to read its desktops.
    await must(['create', 'serviceaccount', USER_SA, '-n', NS]);
    await must(['create', 'role', 'desktop-viewer', '-n', NS, '--verb=get,list,watch', '--resource=virtualdesktops.deskplane.io']);
    await must(['create', 'rolebinding', 'alice-desktops', '-n', NS, '--role=desktop-viewer', `--serviceaccount=${NS}:${USER_SA}`]);
    const token = (await must(['create', 'token', USER_SA, '-n', NS, '--duration=2h'])).trim();
    userEnv = { ...adminEnv, KUBECONFIG: kubeconfigFor(kube.kubeconfig, token, NS, join(work, 'alice.kubeconfig')) };

    // The console test needs no web console: a placeholder page instead of a build.
    mkdirSync(join(work, 'no-ui'), { recursive: true });
    writeFileSync(join(work, 'no-ui', 'index.html'), '<!doctype html><title>not built</title>\n');
    const any = { host: '127.0.0.1', port: 0 };
    local = await startLocal({
      testbed,
      kubeconfig: kube.kubeconfig,
      dataDir: join(testbed.stateDir, 'local'),
      redisPrefix: `kd-e2e-${id}`,
      log: (m) => void events.push(m),
      gateway: { listen: any, connectListen: any },
      api: localApi({
        listen: any,
        env: {
          ...process.env,
          DESKPLANE_API_UI_DIR: join(work, 'no-ui'),
          DESKPLANE_API_KUBECONFIG: kube.kubeconfig,
          DESKPLANE_API_KUBERNETES_AUTH: 'on',
          // Service-account tokens carry the group system:serviceaccounts:<namespace>: the tenant.
          DESKPLANE_API_KUBERNETES_TENANT_GROUP_PREFIX: 'system:serviceaccounts:',
        },
      }),
    });

    // What the Helm chart publishes for the plugin: where the API is, readable by every signed-in user.
    await must(['create', 'configmap', 'deskplane-client', '-n', 'kube-public', `--from-literal=apiURL=${local.apiUrl!.replace(/\/$/, '')}`]);
    await must(['create', 'role', 'deskplane-client-reader', '-n', 'kube-public', '--verb=get', '--resource=configmaps', '--resource-name=deskplane-client']);
    await must(['create', 'rolebinding', 'deskplane-client-reader', '-n', 'kube-public', '--role=deskplane-client-reader', '--group=system:authenticated']);

    for (const name of DESKTOPS) {
      await desktops().create({
        apiVersion: API_VERSION,
        kind: 'VirtualDesktop',
        metadata: { name, namespace: NS },
        spec: { templateRef: { name: 'busybox' }, owner: `system:serviceaccount:${NS}:${USER_SA}` },
      } as Desktop);
    }
    await waitFor('both desktops Running', async () => (await Promise.all(DESKTOPS.map(desktop))).every((d) => d.status?.phase === 'Running'), 300_000);
  }, 900_000);

  afterAll(async () => {
    await viewer?.close();
    await local?.close();
    if (testbed) await down({ name: testbedName });
    rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('lists the user\'s desktops through kubectl with their namespace from the kubeconfig', async () => {
    const r = await sh('kubectl', ['desktop', 'list'], userEnv);
    expect(r.code, r.stderr).toBe(0);
    for (const name of DESKTOPS) expect(r.stdout).toMatch(new RegExp(`^${name}\\s+Running\\s+host-\\d`, 'm'));
  });

  it('opens the console: remote-viewer connected through the gateway shows the guest', async () => {
    const started = Date.now();
    viewer = await startViewer({ launcher: { command: 'kubectl', args: ['desktop', 'console', DESKTOPS[0]!] }, env: userEnv as Record<string, string>, timeoutMs: 60_000 });
    expect(await viewerShowsGuest(DESKTOPS[0]!, 60_000), `remote-viewer never showed the guest; its log: ${viewer.log}`).toBe(true);
    console.log(`kubectl desktop console → the guest's picture on screen: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // For the kept screenshot: the booted guest's counter rather than its firmware's banner.
    const guest = await findGuest(testbed!, (await desktop(DESKTOPS[0]!)).metadata.uid!);
    const serial = join(testbed!.stateDir, 'local', 'storage', `${guest.domain}.serial.log`);
    await waitFor('the guest booted', () => Promise.resolve(existsSync(serial) && /deskplane-guest tick \d+/.test(readFileSync(serial, 'utf8'))), 120_000);
    expect(await viewerShowsGuest(DESKTOPS[0]!, 30_000)).toBe(true);
    writePng(join(ARTIFACTS, 'console.png'), await viewer.grab());
    // Through the gateway: it holds the session, for this user, on this desktop.
    const sessions = local!.gateway.gateway.sessions.list({ desktop: `${NS}/${DESKTOPS[0]}` });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ user: `system:serviceaccount:${NS}:${USER_SA}` });
  });

  it('refuses a console of a desktop the user does not own, with the API\'s reason', async () => {
    await desktops().create({ apiVersion: API_VERSION, kind: 'VirtualDesktop', metadata: { name: 'kd-other', namespace: NS }, spec: { templateRef: { name: 'busybox' }, owner: 'bob' } } as Desktop);
    const r = await sh('kubectl', ['desktop', 'console', 'kd-other', '--viewer', '/bin/false'], userEnv);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kd-other/);
    await desktops().delete('kd-other', NS);
  });

  it('drains host-1: every desktop moves off it and keeps running; the open console follows', async () => {
    // Make sure host-1 has something to drain: move the first desktop there if it is not.
    if ((await desktop(DESKTOPS[0]!)).status?.host !== 'host-1') {
      const m = await sh('kubectl', ['desktop', 'migrate', DESKTOPS[0]!, '--to', 'host-1', '--wait', '--timeout', '5m'], adminEnv);
      expect(m.code, m.stderr).toBe(0);
    }
    expect((await desktop(DESKTOPS[0]!)).status?.host).toBe('host-1');

    const started = Date.now();
    const r = await sh('kubectl', ['desktop', 'drain', 'host-1', '--wait', '--timeout', '10m'], adminEnv);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    console.log(`kubectl desktop drain host-1 --wait: ${((Date.now() - started) / 1000).toFixed(1)} s\n${r.stdout}`);
    // Every desktop of the tenant (the local run's demo desktop too) now runs on host-2.
    const all = (await desktops().list({ namespace: NS })).items;
    expect(all.length).toBeGreaterThanOrEqual(DESKTOPS.length);
    for (const d of all) expect({ name: d.metadata.name, phase: d.status?.phase, host: d.status?.host }).toEqual({ name: d.metadata.name, phase: 'Running', host: 'host-2' });
    const host1 = await local!.store.client<KubeObject & { spec: { maintenance?: boolean } }>(RESOURCE_TYPES.KvmHost).get('host-1');
    expect(host1?.spec.maintenance).toBe(true);

    expect(await viewerShowsGuest(DESKTOPS[0]!, 60_000), 'after the drain the viewer no longer shows the guest').toBe(true);
    writePng(join(ARTIFACTS, 'console-after-drain.png'), await viewer!.grab());

    const u = await sh('kubectl', ['desktop', 'undrain', 'host-1'], adminEnv);
    expect(u.code, u.stderr).toBe(0);
    const again = await local!.store.client<KubeObject & { spec: { maintenance?: boolean } }>(RESOURCE_TYPES.KvmHost).get('host-1');
    expect(again?.spec.maintenance).toBe(false);
  });
});
