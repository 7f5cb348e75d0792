/**
 * The generated CRDs and the examples on a REAL kube-apiserver (the testbed's): the schema,
 * defaults, CEL rules, printer columns, category and subresources do what the unit tests
 * say they do — and the apiserver and the local `validate` agree on what is invalid.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadState, checkKube } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, KINDS, applyDefaults, crdName, validate } from '../src';

const API_DIR = join(__dirname, '..');
const SUFFIX = randomBytes(3).toString('hex');
const NS = `api-smoke-${SUFFIX}`;
const hostName = (name: string): string => `${name}-${SUFFIX}`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let kubectlBin = '';
let kubeconfig = '';
// A private discovery cache: a stale one from an earlier run would hide changed CRDs.
const cacheDir = mkdtempSync(join(tmpdir(), 'deskplane-api-smoke-'));

function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBin, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '--request-timeout=60s', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** kubectl that must succeed; returns stdout. */
async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const json = (o: unknown): string => JSON.stringify(o);
const get = async (resource: string, jsonPath: string, ns = true): Promise<string> =>
  ok(['get', resource, ...(ns ? ['-n', NS] : []), '-o', `jsonpath=${jsonPath}`]);

/** The examples, with the cluster-scoped KvmHosts (and references to them) renamed for this run, and the Tenant named after this run's namespace. */
interface Doc {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

function examples(): Doc[] {
  const dir = join(API_DIR, 'examples');
  const docs = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Doc));
  for (const d of docs) {
    if (d.kind === 'KvmHost') d.metadata.name = hostName(d.metadata.name);
    if (d.kind === 'Tenant') d.metadata.name = NS;
    if (d.kind === 'DesktopMigration' && typeof d.spec.targetHost === 'string') d.spec.targetHost = hostName(d.spec.targetHost);
  }
  return docs;
}
const hosts = (): string[] => examples().filter((d) => d.kind === 'KvmHost').map((d) => d.metadata.name);

/** Right after a CRD is Established, the first writes may still 404 for a moment. */
async function applyWithRetry(input: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await kubectl(['apply', '-n', NS, '-f', '-'], input);
    if (r.code === 0) return r.stdout;
    if (Date.now() > deadline || !/could not find the requested resource|no matches for kind|ensure CRDs are installed/.test(r.stderr)) {
      throw new Error(`kubectl apply failed: ${r.stderr}`);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

describe('deskplane.io CRDs on kube-apiserver', () => {
  beforeAll(async () => {
    const state = loadState();
    await checkKube(state.kube);
    kubectlBin = state.kube!.kubectl;
    kubeconfig = state.kube!.kubeconfig;
    // CRDs are shared by every test on this apiserver: applied (idempotently), never deleted.
    await ok(['apply', '--server-side', '--force-conflicts', '--field-manager=deskplane-api-smoke', '-f', join(API_DIR, 'crds')]);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', ...KINDS.map((k) => `crd/${crdName(k)}`)]);
    await ok(['create', 'namespace', NS]);
  });

  afterAll(async () => {
    if (!kubectlBin) return;
    const namespaced = KINDS.filter((k) => k.info.namespaced).map((k) => k.info.plural).join(',');
    await kubectl(['delete', namespaced, '--all', '-n', NS, '--wait=false']);
    await kubectl(['delete', 'kvmhosts', ...hosts(), '--ignore-not-found', '--wait=false']);
    await kubectl(['delete', 'tenants', NS, '--ignore-not-found', '--wait=false']);
    // The testbed runs no namespace controller: empty the namespace's finalizers ourselves.
    await kubectl(['delete', 'namespace', NS, '--wait=false']);
    const ns = await kubectl(['get', 'namespace', NS, '-o', 'json']);
    if (ns.code === 0) {
      const obj = JSON.parse(ns.stdout) as { spec?: { finalizers?: string[] } };
      obj.spec = { ...obj.spec, finalizers: [] };
      await kubectl(['replace', '--raw', `/api/v1/namespaces/${NS}/finalize`, '-f', '-'], json(obj));
    }
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('establishes every CRD with its names accepted', async () => {
    for (const k of KINDS) {
      const conditions = await get(`crd/${crdName(k)}`, '{range .status.conditions[*]}{.type}={.status} {end}', false);
      expect(conditions, k.info.kind).toContain('Established=True');
      expect(conditions, k.info.kind).toContain('NamesAccepted=True');
    }
  });

  it('accepts `kubectl apply -f examples/` as written (server-side dry run)', async () => {
    const out = await ok(['apply', '--dry-run=server', '-n', NS, '-f', join(API_DIR, 'examples')]);
    expect(out.trim().split('\n')).toHaveLength(8);
  });

  it('applies the examples in a fresh namespace', async () => {
    const out = await applyWithRetry(examples().map((d) => json(d)).join('\n'));
    expect(out).toContain('virtualdesktop.deskplane.io/alice-dev created');
    expect(out).toContain(`kvmhost.deskplane.io/${hostName('kvm-host-1')} created`);
  });

  it('lists every kind under `kubectl get deskplane`', async () => {
    const names = (await ok(['get', 'deskplane', '-n', NS, '-o', 'name'])).split('\n');
    for (const expected of [
      'desktoptemplate.deskplane.io/debian-xfce',
      'virtualdesktop.deskplane.io/alice-dev',
      'desktoppool.deskplane.io/training',
      'desktopmigration.deskplane.io/alice-dev-to-host-2',
      'desktoppolicy.deskplane.io/standard',
      ...hosts().map((h) => `kvmhost.deskplane.io/${h}`),
      `tenant.deskplane.io/${NS}`,
    ]) {
      expect(names).toContain(expected);
    }
  });

  it('applies the defaults', async () => {
    expect(await get('vd/alice-dev', '{.spec.runStrategy} {.spec.persistent} {.spec.placement.antiAffinity}')).toBe('Always true owner');
    expect(await get('dtpl/debian-xfce', '{.spec.spice.imageCompression} {.spec.disk}')).toBe('auto_glz 40Gi');
    expect(await get('dmig/alice-dev-to-host-2', '{.spec.policy.postCopy} {.spec.policy.autoConverge}')).toBe('false true');
    expect(await get('dpol/standard', '{.spec.clipboard} {.spec.priority}')).toBe('both 0');
    expect(await get(`kh/${hostName('kvm-host-2')}`, '{.spec.schedulable} {.spec.overcommit}', false)).toBe('true ');
    expect(await get(`kh/${hostName('kvm-host-1')}`, '{.spec.schedulable} {.spec.maintenance} {.spec.reserved.memory}', false)).toBe('true false 4Gi');
  });

  it('writes status through the status subresource only', async () => {
    const host = hostName('kvm-host-1');
    const status = {
      status: {
        phase: 'Running',
        host,
        console: { ready: true, address: '127.0.1.1', port: 5901 },
        timings: { runningAt: '2025-03-01T10:00:00Z' },
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Running', message: '', lastTransitionTime: '2025-03-01T10:00:00Z' }],
      },
    };
    await ok(['patch', 'vd', 'alice-dev', '-n', NS, '--subresource=status', '--type=merge', '-p', json(status)]);
    // Status in a write to the main resource is ignored, not an error.
    await ok(['patch', 'vd', 'alice-dev', '-n', NS, '--type=merge', '-p', json({ status: { phase: 'Failed' } })]);
    expect(await get('vd/alice-dev', '{.status.phase} {.status.host} {.status.console.ready} {.metadata.generation}')).toBe(`Running ${host} true 1`);
    const bad = await kubectl(['patch', 'vd', 'alice-dev', '-n', NS, '--subresource=status', '--type=merge', '-p', json({ status: { phase: 'Dancing' } })]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Unsupported value: "Dancing"');
  });

  it('shows printer columns that answer what state, where, since when', async () => {
    const [header, row] = (await ok(['get', 'vd', '-n', NS])).split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'PHASE', 'READY', 'HOST', 'OWNER', 'AGE']);
    expect(row).toMatch(new RegExp(`^alice-dev\\s+Running\\s+True\\s+${hostName('kvm-host-1')}\\s+alice\\s+\\d+s`));
    expect((await ok(['get', 'vd', '-n', NS, '-o', 'wide'])).split('\n')[0]).toMatch(/TEMPLATE\s+POOL\s+RUNNING SINCE\s+AGE/);
    expect((await ok(['get', 'dpool', '-n', NS])).split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'SIZE', 'WARM', 'READY', 'CLAIMED', 'AGE']);
    expect((await ok(['get', 'dmig', '-n', NS])).split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'DESKTOP', 'PHASE', 'SOURCE', 'TARGET', 'PROGRESS', 'AGE']);
    expect((await ok(['get', 'dtpl', '-n', NS])).split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'IMAGE', 'VCPUS', 'MEMORY', 'AGE']);
    const [tntHeader, tntRow] = (await ok(['get', 'tnt', NS])).split('\n');
    expect(tntHeader!.split(/\s{2,}/)).toEqual(['NAME', 'DISPLAY NAME', 'DESKTOPS', 'VCPUS', 'MEMORY', 'AGE']);
    expect(tntRow).toMatch(new RegExp(`^${NS}\\s+Team A\\s+20\\s+40\\s+80Gi\\s+\\d+s`));
    const kh = hostName('kvm-host-1');
    const hostStatus = {
      status: {
        capacity: { vcpus: 16, memory: '64Gi' },
        allocatable: { vcpus: 56, memory: '60Gi' },
        allocated: { vcpus: 2, memory: '4Gi' },
        guestCount: 1,
        heartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        hypervisor: { type: 'qemu' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: '', lastTransitionTime: '2025-03-01T10:00:00Z' }],
      },
    };
    await ok(['patch', 'kh', kh, '--subresource=status', '--type=merge', '-p', json(hostStatus)]);
    const [khHeader, khRow] = (await ok(['get', 'kh', kh])).split('\n');
    expect(khHeader!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'SCHEDULABLE', 'GUESTS', 'VCPUS USED', 'VCPUS', 'MEMORY USED', 'MEMORY', 'HEARTBEAT', 'AGE']);
    expect(khRow).toMatch(new RegExp(`^${kh}\\s+True\\s+true\\s+1\\s+2\\s+56\\s+4Gi\\s+60Gi\\s+\\d+s`));
  });

  it('scales a pool through /scale, within the warm <= size rule', async () => {
    await ok(['scale', 'dpool/training', '-n', NS, '--replicas=8']);
    expect(await get('dpool/training', '{.spec.size}')).toBe('8');
    const below = await kubectl(['scale', 'dpool/training', '-n', NS, '--replicas=1']);
    expect(below.code).not.toBe(0);
    expect(below.stderr).toContain('warm must not exceed size');
  });

  const vd = (spec: object, name = `bad-${SUFFIX}`): object => ({ apiVersion: API_VERSION, kind: 'VirtualDesktop', metadata: { name }, spec });
  const invalid: Array<[string, object, string]> = [
    ['runStrategy "Sometimes"', vd({ templateRef: { name: 't' }, owner: 'a', runStrategy: 'Sometimes' }), 'spec.runStrategy: Unsupported value: "Sometimes"'],
    ['warm > size (CEL)', { apiVersion: API_VERSION, kind: 'DesktopPool', metadata: { name: 'bad' }, spec: { templateRef: { name: 't' }, size: 2, warm: 3 } }, 'spec.warm: Invalid value: "object": warm must not exceed size'],
    ['memory "lots"', { apiVersion: API_VERSION, kind: 'DesktopTemplate', metadata: { name: 'bad' }, spec: { image: 'i', vcpus: 2, memory: 'lots' } }, 'spec.memory: Invalid value: "lots": spec.memory in body should match'],
    ['vcpus 0', { apiVersion: API_VERSION, kind: 'DesktopTemplate', metadata: { name: 'bad' }, spec: { image: 'i', vcpus: 0, memory: '1Gi' } }, 'spec.vcpus: Invalid value: 0: spec.vcpus in body should be greater than or equal to 1'],
    ['no owner and no pool (CEL)', vd({ templateRef: { name: 't' } }), 'spec.owner: Required value: owner is required unless the desktop belongs to a pool'],
    ['a 64-character desktop name (CEL)', vd({ templateRef: { name: 't' }, owner: 'a' }, 'x'.repeat(64)), 'name must be at most 63 characters'],
    ['empty policy subjects (CEL)', { apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name: 'bad' }, spec: { subjects: {} } }, 'subjects must name users or groups'],
    ['a channel that cannot be denied', { apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name: 'bad' }, spec: { subjects: { users: ['a'] }, deniedChannels: ['display'] } }, 'Unsupported value: "display"'],
    ['an unknown field', vd({ templateRef: { name: 't' }, owner: 'a', colour: 'blue' }), 'unknown field "spec.colour"'],
    ['a tenant name that is no namespace name (CEL)', { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: `bad.${SUFFIX}` }, spec: {} }, 'name must be a namespace name'],
    ['a bad agent endpoint', { apiVersion: API_VERSION, kind: 'KvmHost', metadata: { name: `bad-${SUFFIX}` }, spec: { agentEndpoint: 'http://x' } }, 'spec.agentEndpoint: Invalid value: "http://x"'],
  ];

  it.each(invalid)('rejects %s, as validate() does', async (what, obj, message) => {
    const r = await kubectl(['create', '-n', NS, '-f', '-'], json(obj));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
    const local = validate(applyDefaults(obj));
    expect(local.ok).toBe(false);
    // Where the local message uses the apiserver's words, it is word for word the same.
    const same = ['Sometimes', 'warm > size', 'no owner', 'empty policy', 'cannot be denied'].some((w) => what.includes(w));
    if (same && !local.ok) expect(local.issues.map((i) => `${i.path}: ${i.message}`).some((m) => r.stderr.includes(m)), r.stderr).toBe(true);
  });

  it('keeps a migration spec immutable, as validate() does with the old object', async () => {
    const r = await kubectl(['patch', 'dmig', 'alice-dev-to-host-2', '-n', NS, '--type=merge', '-p', json({ spec: { targetHost: hostName('kvm-host-1') } })]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec is immutable');
    const stored = JSON.parse(await ok(['get', 'dmig', 'alice-dev-to-host-2', '-n', NS, '-o', 'json'])) as { spec: Record<string, unknown> };
    expect(validate(stored, stored).ok).toBe(true);
    expect(validate({ ...stored, spec: { ...stored.spec, targetHost: 'other' } }, stored).ok).toBe(false);
  });

  it('round-trips what the apiserver stored through validate()', async () => {
    for (const k of KINDS) {
      const list = JSON.parse(await ok(['get', k.info.plural, ...(k.info.namespaced ? ['-n', NS] : k.info.kind === 'Tenant' ? [NS] : hosts()), '-o', 'json'])) as { items?: unknown[] };
      const items = list.items ?? [list];
      expect(items.length, k.info.kind).toBeGreaterThan(0);
      for (const item of items) expect(validate(item), k.info.kind).toMatchObject({ ok: true });
    }
  });
});
