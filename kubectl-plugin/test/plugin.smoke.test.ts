/**
 * `kubectl desktop` as a user runs it: installed by bin/install into a PATH directory, run
 * by the testbed's REAL kubectl against its REAL kube-apiserver, with a kubeconfig whose
 * context namespace is this run's own. No controller runs here: the objects are written
 * as the operator would write them (status through the status subresource), so the
 * commands' reading and writing is what is checked; the --wait success paths belong to
 * console-drain.e2e.test.ts, where the operator runs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkKube, freePort, loadState } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const ID = randomBytes(3).toString('hex');
const NS = `kd-smoke-${ID}`;
const NS2 = `kd-smoke-${ID}-b`;
const HOST_A = `kd-smoke-${ID}-a`;
const HOST_B = `kd-smoke-${ID}-b`;
const SA = 'no-rights';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const work = mkdtempSync(join(tmpdir(), 'kd-smoke-'));
const bin = join(work, 'bin');
const viewerTmp = join(work, 'tmp');
let kubectlBin = '';
let env: NodeJS.ProcessEnv = {};

function exec(cmd: string, args: string[], e: NodeJS.ProcessEnv = env, input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: e });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
const kubectl = (args: string[], e: NodeJS.ProcessEnv = env, input?: string) => exec(kubectlBin, args, e, input);
/** The plugin, the way users call it: through kubectl, found on PATH. */
const desktop = (args: string[], e: NodeJS.ProcessEnv = env) => kubectl(['desktop', ...args], e);

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, env, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A copy of the testbed kubeconfig with this run's namespace (and optionally another token) in its context. */
function kubeconfigCopy(base: string, file: string, token?: string): string {
  let text = readFileSync(base, 'utf8').replace(/^(\s*namespace:\s*).*$/m, `$1${NS}`);
  if (token !== undefined) text = text.replace(/^(\s*token:\s*).*$/m, `$1${token}`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

const vd = (name: string, namespace: string, owner: string) => ({
  apiVersion: 'deskplane.io/v1alpha1',
  kind: 'VirtualDesktop',
  metadata: { name, namespace },
  spec: { templateRef: { name: 'debian-xfce' }, owner },
});
const kvmHost = (name: string) => ({ apiVersion: 'deskplane.io/v1alpha1', kind: 'KvmHost', metadata: { name }, spec: { agentEndpoint: `${name}.hosts.test:7443` } });

/** Right after a CRD is Established, the first writes may still 404 for a moment. */
async function applyWithRetry(objects: object[]): Promise<void> {
  const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 500))) {
    const r = await kubectl(['apply', '-f', '-'], env, input);
    if (r.code === 0) return;
    if (Date.now() > deadline || !/could not find the requested resource|no matches for kind|ensure CRDs are installed/.test(r.stderr)) throw new Error(`kubectl apply: ${r.stderr}`);
  }
}

const migrations = async (): Promise<{ metadata: { name: string; generateName?: string }; spec: Record<string, unknown> }[]> =>
  (JSON.parse(await ok(['get', 'desktopmigrations', '-n', NS, '-o', 'json'])) as { items: [] }).items;

describe('kubectl desktop (through the real kubectl, on the testbed apiserver)', () => {
  let install: Result;

  beforeAll(async () => {
    const state = loadState();
    await checkKube(state.kube);
    const kube = state.kube!;
    kubectlBin = kube.kubectl;
    mkdirSync(viewerTmp, { recursive: true });
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DESKPLANE_') && k !== 'KUBECONFIG'));
    env = {
      ...clean,
      PATH: `${bin}:${dirname(kubectlBin)}:${process.env.PATH ?? ''}`,
      KUBECONFIG: kubeconfigCopy(kube.kubeconfig, join(work, 'admin.kubeconfig')),
      KUBECACHEDIR: join(work, 'kube-cache'),
      TMPDIR: viewerTmp,
    };
    install = await exec(join(ROOT, 'kubectl-plugin', 'bin', 'install'), ['--prefix', bin]);

    // CRDs are shared by every test on this apiserver: applied (idempotently), never deleted.
    await ok(['apply', '--server-side', '--force-conflicts', '--field-manager=kubectl-desktop-smoke', '-f', join(ROOT, 'packages', 'api', 'crds')]);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/virtualdesktops.deskplane.io', 'crd/kvmhosts.deskplane.io', 'crd/desktopmigrations.deskplane.io']);
    await ok(['create', 'namespace', NS]);
    await ok(['create', 'namespace', NS2]);
    await applyWithRetry([
      kvmHost(HOST_A),
      kvmHost(HOST_B),
      vd('alice-dev', NS, 'alice'),
      vd('bob-dev', NS, 'bob'),
      vd('carol-dev', NS2, 'carol'),
    ]);
    const status = (name: string, ns: string, s: object) => ok(['patch', 'virtualdesktop', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: s })]);
    await status('alice-dev', NS, { phase: 'Running', host: HOST_A, console: { ready: true, address: '127.0.1.1', port: 5901 } });
    await status('carol-dev', NS2, { phase: 'Stopped' });
  }, 120_000);

  afterAll(async () => {
    if (kubectlBin) {
      for (const ns of [NS, NS2]) {
        await kubectl(['delete', 'virtualdesktops,desktopmigrations', '--all', '-n', ns, '--wait=false']);
        await kubectl(['delete', 'namespace', ns, '--wait=false']);
        // The testbed runs no namespace controller: empty the namespace's finalizers ourselves.
        const got = await kubectl(['get', 'namespace', ns, '-o', 'json']);
        if (got.code === 0) {
          const obj = JSON.parse(got.stdout) as { spec?: { finalizers?: string[] } };
          obj.spec = { ...obj.spec, finalizers: [] };
          await kubectl(['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'], env, JSON.stringify(obj));
        }
      }
      await kubectl(['delete', 'kvmhosts', HOST_A, HOST_B, '--ignore-not-found', '--wait=false']);
    }
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('installs one executable file that kubectl plugin list shows', async () => {
    expect(install.code, install.stderr).toBe(0);
    const file = join(bin, 'kubectl-desktop');
    expect(install.stdout).toContain(`installed ${file}`);
    expect(install.stdout).toContain('check: kubectl plugin list');
    expect(readdirSync(bin)).toEqual(['kubectl-desktop']);
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const listed = await kubectl(['plugin', 'list']);
    expect(listed.stdout.split('\n')).toContain(file);
  });

  it('lists the desktops of the kubeconfig context\'s namespace', async () => {
    const r = await desktop(['list']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PHASE\s+HOST\s+AGE$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^alice-dev\\s+Running\\s+${HOST_A}\\s+\\d+s$`)), expect.stringMatching(/^bob-dev\s+<none>\s+<none>\s+\d+s$/)]);
  });

  it('lists another namespace with -n, every namespace with -A, and -o wide|json|name', async () => {
    const other = await desktop(['list', '-n', NS2]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/^carol-dev\s+Stopped\s+<none>\s+\d+s$/)]);

    const all = await desktop(['list', '-A']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+PHASE\s+HOST\s+AGE$/);
    const ours = all.stdout.split('\n').filter((l) => l.startsWith(`${NS}-b `) || l.startsWith(`${NS} `));
    expect(ours.map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      [NS, 'alice-dev', 'Running'],
      [NS, 'bob-dev', '<none>'],
      [NS2, 'carol-dev', 'Stopped'],
    ]);

    const wide = await desktop(['list', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+HOST\s+AGE\s+TEMPLATE\s+OWNER\s+CONSOLE$/);
    expect(wide.stdout).toMatch(new RegExp(`^alice-dev\\s+Running\\s+${HOST_A}\\s+\\S+\\s+debian-xfce\\s+alice\\s+Ready 127\\.0\\.1\\.1:5901$`, 'm'));

    const json = await desktop(['list', '-o', 'json', '--namespace', NS2]);
    const list = JSON.parse(json.stdout) as { kind: string; items: { metadata: { name: string; namespace: string }; status?: { phase?: string } }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => [i.metadata.namespace, i.metadata.name, i.status?.phase])).toEqual([[NS2, 'carol-dev', 'Stopped']]);

    const names = await desktop(['list', '-o', 'name']);
    expect(names.stdout.trim().split('\n')).toEqual(['virtualdesktop.deskplane.io/alice-dev', 'virtualdesktop.deskplane.io/bob-dev']);
  });

  it('migrate NAME --to HOST creates the DesktopMigration and prints its name', async () => {
    const r = await desktop(['migrate', 'alice-dev', '--to', HOST_B]);
    expect(r.code, r.stderr).toBe(0);
    const name = r.stdout.trim();
    expect(name).toMatch(/^alice-dev-[a-z0-9]{5}$/);
    const m = JSON.parse(await ok(['get', 'desktopmigration', name, '-n', NS, '-o', 'json'])) as { metadata: { generateName: string }; spec: unknown };
    expect(m.metadata.generateName).toBe('alice-dev-');
    expect(m.spec).toEqual({ desktopName: 'alice-dev', targetHost: HOST_B });

    const any = await desktop(['migrate', 'bob-dev']);
    expect(any.code, any.stderr).toBe(0);
    const m2 = JSON.parse(await ok(['get', 'desktopmigration', any.stdout.trim(), '-n', NS, '-o', 'json'])) as { spec: unknown };
    expect(m2.spec).toEqual({ desktopName: 'bob-dev' });
  });

  it('migrate refuses an unknown desktop, an unknown host and the host it is on, creating nothing', async () => {
    const before = (await migrations()).length;
    const nope = await desktop(['migrate', 'nope']);
    expect(nope.code).toBe(1);
    expect(nope.stderr).toBe(`error: VirtualDesktop "nope" not found in namespace "${NS}": "kubectl desktop list" shows what there is\n`);
    const badHost = await desktop(['migrate', 'alice-dev', '--to', `${HOST_A}-gone`]);
    expect(badHost.code).toBe(1);
    expect(badHost.stderr).toBe(`error: KvmHost "${HOST_A}-gone" not found: "kubectl get kvmhosts" shows what there is\n`);
    const same = await desktop(['migrate', 'alice-dev', '--to', HOST_A]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(new RegExp(`already runs on ${HOST_A}: pick another host`));
    expect((await migrations()).length).toBe(before);
  });

  it('drain and undrain flip spec.maintenance and count the desktops on the host', async () => {
    const maintenance = () => ok(['get', 'kvmhost', HOST_A, '-o', 'jsonpath={.spec.maintenance}']);
    const d = await desktop(['drain', HOST_A]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.trim()).toBe(`kvmhost/${HOST_A} is now in maintenance: 1 desktop on it; the operator live-migrates them away`);
    expect(await maintenance()).toBe('true');
    const again = await desktop(['drain', HOST_B]);
    expect(again.stdout).toContain(`kvmhost/${HOST_B} is now in maintenance: 0 desktops on it`);

    const u = await desktop(['undrain', HOST_A]);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout.trim()).toBe(`kvmhost/${HOST_A} is now out of maintenance: new desktops may be placed on it again`);
    expect(await maintenance()).toBe('false');
    await desktop(['undrain', HOST_B]);
  });

  it('drain and undrain of an unknown host fail with exit 1', async () => {
    for (const cmd of ['drain', 'undrain']) {
      const r = await desktop([cmd, `${HOST_A}-gone`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: KvmHost "${HOST_A}-gone" not found: "kubectl get kvmhosts" shows what there is\n`);
    }
  });

  it('--help of the plugin and of each command, with an example; bad usage is exit 2', async () => {
    for (const args of [['--help'], ...['list', 'migrate', 'drain', 'undrain', 'console'].map((c) => [c, '--help'])]) {
      const r = await desktop(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage:\n {2}kubectl desktop/);
      expect(r.stdout).toMatch(new RegExp(`Examples?:\\n {2}kubectl desktop ${args.length > 1 ? args[0] : ''}`));
    }
    const bad = await desktop(['list', '-o', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: invalid --output "yaml": choose one of wide, json, name (see "kubectl desktop list --help")\n');
  });

  it('a credential without RBAC rights gets the forbidden message', async () => {
    await ok(['create', 'serviceaccount', SA, '-n', NS]);
    const token = (await ok(['create', 'token', SA, '-n', NS, '--duration=10m'])).trim();
    const noRights = { ...env, KUBECONFIG: kubeconfigCopy(env.KUBECONFIG!, join(work, 'no-rights.kubeconfig'), token) };
    const r = await desktop(['list'], noRights);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^error: forbidden: .*User "system:serviceaccount:${NS}:${SA}" cannot list resource "virtualdesktops".*; ask your cluster admin for RBAC access .*\\n$`),
    );
    const drain = await desktop(['drain', HOST_A], noRights);
    expect(drain.code).toBe(1);
    expect(drain.stderr).toMatch(/^error: forbidden: .*cannot get resource "kvmhosts".*RBAC/);
  });

  it('console against an API where nothing listens: the connection message, exit 1, no .vv left', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await desktop(['console', 'alice-dev', '--api-url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: cannot connect to the Deskplane API at ${url} \\(from --api-url\\): connection refused; .*\\n$`));
    const fromEnv = await desktop(['console', 'alice-dev', '--save', join(work, 'alice.vv')], { ...env, DESKPLANE_API_URL: url });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toMatch(/\(from \$DESKPLANE_API_URL\): connection refused/);
    expect(readdirSync(viewerTmp)).toEqual([]);
    expect(existsSync(join(work, 'alice.vv'))).toBe(false);
  });

  it('console without a viewer says to install virt-viewer, before asking the API', async () => {
    const r = await desktop(['console', 'alice-dev', '--viewer', join(work, 'no-such-viewer'), '--api-url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*no-such-viewer not found \(from --viewer\): install virt-viewer/);
    expect(readdirSync(viewerTmp)).toEqual([]);
  });
});
