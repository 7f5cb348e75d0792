/**
 * Issue 10, done-when, on real guests: a pool of size 4 / warm 2 holds 2 running guests and
 * 2 defined ones; users racing to claim never share a desktop and warm refills; a floating
 * desktop's disk is fresh on the next claim after logout; an idle desktop is stopped with an
 * Event and a condition.
 *
 * The local run (operator with its activity task, orchestrator, host agents, gateway with
 * presence, API) runs in this process on a testbed instance of its own (Redis + two libvirtd
 * hosts), so nothing here touches another suite's guests.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, Annotations, Labels } from '@deskplane/api';
import { hashPassword } from '@deskplane/api-server';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import type { KubeObject } from '@deskplane/resource-store';
import { down, startViewer, up, type TestbedState, type Viewer, freeHostSubnet } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localApi, startLocal, type RunningLocal } from '../src';

const NS = 'demo';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Desktop = KubeObject & {
  spec: { owner?: string; runStrategy?: string; persistent?: boolean; poolRef?: { name: string } };
  status?: { phase?: string; host?: string; console?: { ready: boolean }; conditions?: Array<{ type: string; status: string; reason?: string }> };
};
type Pool = KubeObject & { status?: { desktops?: number; ready?: number; claimed?: number; starting?: number; resetting?: number } };

function virsh(uri: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('virsh', ['-q', '-c', uri, ...args], (err, stdout, stderr) => (err ? reject(new Error(`virsh ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))),
  );
}

describe('desktop pools on the testbed', () => {
  const id = randomBytes(3).toString('hex');
  const testbedName = `pools-e2e-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'pools-e2e-'));
  const users = Array.from({ length: 10 }, (_, i) => `user${i + 1}`);
  const tokens = new Map<string, string>();
  let testbed: TestbedState | undefined;
  let local: RunningLocal | undefined;
  let api = '';
  const viewers: Viewer[] = [];
  const events: string[] = [];

  const desktops = () => local!.store.client<Desktop>(RESOURCE_TYPES.VirtualDesktop);
  const pools = () => local!.store.client<Pool>(RESOURCE_TYPES.DesktopPool);
  const poolDesktops = async (pool: string): Promise<Desktop[]> =>
    (await desktops().list({ namespace: NS })).items.filter((d) => d.metadata.labels?.[Labels.Pool] === pool && !d.metadata.deletionTimestamp);
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> => {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(500)) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s; the local run said: ${events.slice(-5).join(' | ')}`);
    }
  };
  const call = async (method: string, path: string, user: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string; headers: Headers }> => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.get(user)}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const json = (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as Record<string, unknown>;
    return { status: res.status, json, text, headers: res.headers };
  };
  /** Where the desktop's domain is and in which state, from the hosts' libvirtds themselves. */
  const domainOf = async (d: Desktop): Promise<{ uri: string; name: string; state: string } | undefined> => {
    for (const h of testbed!.hosts) {
      for (const name of (await virsh(h.libvirtUri, ['list', '--all', '--name'])).split('\n').map((s) => s.trim()).filter(Boolean)) {
        if ((await virsh(h.libvirtUri, ['dumpxml', name])).includes(`desktopUid>${d.metadata.uid}<`)) {
          return { uri: h.libvirtUri, name, state: (await virsh(h.libvirtUri, ['domstate', name])).trim() };
        }
      }
    }
    return undefined;
  };
  const createPool = (name: string, spec: Record<string, unknown>): Promise<Pool> =>
    pools().create({ apiVersion: API_VERSION, kind: 'DesktopPool', metadata: { name, namespace: NS }, spec: { templateRef: { name: 'busybox' }, ...spec } });

  beforeAll(async () => {
    testbed = await up({ name: testbedName, hostSubnet: freeHostSubnet(), parts: { redis: true, kube: false, hosts: true } });
    const dataDir = join(testbed.stateDir, 'local');
    mkdirSync(join(work, 'no-ui'), { recursive: true });
    writeFileSync(join(work, 'no-ui', 'index.html'), '<!doctype html><title>not built</title>\n');
    const any = { host: '127.0.0.1', port: 0 };
    local = await startLocal({
      testbed,
      dataDir,
      redisPrefix: `pools-e2e-${id}`,
      log: (m) => void events.push(m),
      gateway: { listen: any, connectListen: any },
      // busybox ignores ACPI: a stop would wait the orchestrator's whole 60 s before forcing it.
      env: { DESKPLANE_OPERATOR_ACTIVITY_INTERVAL_MS: '1000', DESKPLANE_ORCHESTRATOR_STOP_TIMEOUT_SECONDS: '3' },
      api: localApi({
        listen: any,
        env: {
          ...process.env,
          DESKPLANE_API_UI_DIR: join(work, 'no-ui'),
          DESKPLANE_API_LOGIN_PER_IP_PER_MINUTE: '1000',
          DESKPLANE_API_CONSOLE_PER_USER_PER_MINUTE: '1000',
          DESKPLANE_API_POOL_CONSOLE_WAIT_S: '180',
        },
      }),
    });
    api = local.apiUrl!.replace(/\/$/, '');
    // Ten users of the demo tenant, next to the demo ones (the API re-reads the file when it changes).
    const file = local.identity.usersFile;
    const current = JSON.parse(readFileSync(file, 'utf8')) as { users: unknown[] };
    const hash = await hashPassword('pool-e2e-secret', { N: 1024 });
    current.users.push(...users.map((username) => ({ username, passwordHash: hash, tenant: NS, groups: [], roles: ['user'] })));
    writeFileSync(file, JSON.stringify(current, null, 2), { mode: 0o600 });
    for (const u of users) {
      const token = await waitFor(`login of ${u}`, async () => {
        const r = await fetch(`${api}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: 'pool-e2e-secret' }) });
        return r.ok ? ((await r.json()) as { accessToken: string }).accessToken : undefined;
      }, 20_000);
      tokens.set(u, token);
    }
  }, 600_000);

  afterAll(async () => {
    for (const v of viewers) await v.close().catch(() => undefined);
    await local?.close();
    if (testbed) await down({ name: testbedName });
    rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('a pool of size 4 with warm 2 runs 2 guests and keeps 2 defined', async () => {
    const started = Date.now();
    await createPool('team', { size: 4, warm: 2, assignment: 'Dedicated' });
    const ready = await waitFor('pool team ready with 4 desktops', async () => {
      const p = await pools().get('team', NS);
      return p?.status?.desktops === 4 && p.status.ready === 2 ? p : undefined;
    }, 300_000);
    console.log(`pool team: 4 desktops, 2 ready in ${((Date.now() - started) / 1000).toFixed(1)} s; status ${JSON.stringify(ready.status && { ...ready.status, conditions: undefined })}`);
    // The defined ones settle at Stopped a moment after the warm ones are ready.
    const states = await waitFor('2 running and 2 defined', async () => {
      const all = await poolDesktops('team');
      const s = await Promise.all(all.map(async (d) => ({ name: d.metadata.name, strategy: d.spec.runStrategy, phase: d.status?.phase, domain: (await domainOf(d))?.state })));
      return all.length === 4 && s.filter((x) => x.phase === 'Stopped' || x.phase === 'Running').length === 4 ? s : undefined;
    }, 60_000);
    console.table(states);
    // Two guests really running, two domains defined on a host but shut off.
    expect(states.filter((s) => s.domain === 'running' && s.phase === 'Running' && s.strategy === 'Always')).toHaveLength(2);
    expect(states.filter((s) => s.domain === 'shut off' && s.phase === 'Stopped' && s.strategy === 'Halted')).toHaveLength(2);
  });

  it('users racing to claim never share a desktop; the warm set refills to 2', async () => {
    const warm = new Set((await poolDesktops('team')).filter((d) => d.status?.phase === 'Running').map((d) => d.metadata.name));
    // Two users, twenty requests at the same instant.
    const racers = ['user1', 'user2'];
    const answers = await Promise.all(racers.flatMap((u) => Array.from({ length: 10 }, () => call('POST', '/pools/team/claim', u).then((r) => ({ u, ...r })))));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const got = new Map(racers.map((u) => [u, new Set(answers.filter((a) => a.u === u).map((a) => (a.json.desktop as { name: string }).name))]));
    // Each user got one desktop, whatever number of requests; the two are different and were the warm ones.
    expect(got.get('user1')!.size).toBe(1);
    expect(got.get('user2')!.size).toBe(1);
    const [d1] = got.get('user1')!;
    const [d2] = got.get('user2')!;
    expect(d1).not.toBe(d2);
    expect(warm.has(d1!) && warm.has(d2!)).toBe(true);
    expect(answers.filter((a) => a.json.result === 'claimed')).toHaveLength(2);

    // Warm refills: the two defined desktops start, unclaimed.
    const refilled = Date.now();
    await waitFor('warm back to 2', async () => (await pools().get('team', NS))?.status?.ready === 2, 180_000);
    console.log(`warm refilled to 2 in ${((Date.now() - refilled) / 1000).toFixed(1)} s after the claims`);

    // A crowd of eight more users for the two left: two winners, never a desktop twice.
    const crowd = users.slice(2);
    const rush = await Promise.all(crowd.map((u) => call('POST', '/pools/team/claim', u).then((r) => ({ u, ...r }))));
    const winners = rush.filter((r) => r.status === 200);
    expect(winners).toHaveLength(2);
    for (const r of rush.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.json.error).toMatchObject({ reason: 'exhausted' });
    }
    const owners = (await poolDesktops('team')).map((d) => d.spec.owner);
    expect(owners.filter(Boolean)).toHaveLength(4);
    expect(new Set(owners).size).toBe(4);
    for (const w of winners) expect((await desktops().get((w.json.desktop as { name: string }).name, NS))?.spec.owner).toBe(w.u);
  });

  it('a floating desktop is reset after logout: what the user wrote to its disk is gone on the next claim', async () => {
    await createPool('lab', { size: 1, warm: 1, assignment: 'Floating', releaseAfterSeconds: 2 });
    await waitFor('pool lab ready', async () => (await pools().get('lab', NS))?.status?.ready === 1, 180_000);

    // Claim on connect: the console answer is a .vv for the claimed desktop.
    const claimStarted = Date.now();
    const first = await call('GET', '/pools/lab/console?kind=vv', 'user3');
    expect(first.status, first.text).toBe(200);
    console.log(`claim → .vv of a warm floating desktop: ${Date.now() - claimStarted} ms`);
    const name = first.headers.get('x-deskplane-desktop')!;
    const desktop = (await desktops().get(name, NS))!;
    expect(desktop.spec).toMatchObject({ owner: 'user3', persistent: false });

    // The user's session: remote-viewer through the gateway (the gateway records presence).
    const vv = join(work, 'lab.vv');
    writeFileSync(vv, first.text.replace(/^delete-this-file=1$/m, 'delete-this-file=0'), { mode: 0o600 });
    const viewer = await startViewer({ vvFile: vv, timeoutMs: 60_000 });
    viewers.push(viewer);
    await waitFor('the session is open', () => Promise.resolve(local!.gateway.gateway.sessions.list({ desktop: `${NS}/${name}` }).length === 1), 30_000);

    // "A file the user wrote": bytes written through QEMU's own block layer into the guest's disk
    // (HMP qemu-io on the disk's virtio backend: the qdev id names the PCI proxy), flushed, then read back from the overlay file.
    const dom = (await domainOf(desktop))!;
    const hmp = (d: { uri: string; name: string }, cmd: string) => virsh(d.uri, ['qemu-monitor-command', d.name, '--hmp', cmd]);
    // Through QMP the qemu-io report is not returned, only errors: the read-back below is the proof.
    expect(await hmp(dom, 'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -P 0x5a 1M 64k"')).not.toMatch(/error/i);
    expect(await hmp(dom, 'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "flush"')).not.toMatch(/error/i);
    const overlayOf = async (d: { uri: string; name: string }): Promise<string> => {
      const path = /^\S+: (\S+\.qcow2)/m.exec(await hmp(d, 'info block'))?.[1];
      if (!path) throw new Error(`no qcow2 disk in ${d.name}: ${await hmp(d, 'info block')}`);
      return path;
    };
    // Read-only with shared locks: QEMU holds the image open.
    const check = async (d: { uri: string; name: string }): Promise<string> => {
      const path = await overlayOf(d);
      return new Promise<string>((resolve) => execFile('qemu-io', ['-r', '-U', '-f', 'qcow2', '-c', 'read -P 0x5a 1M 64k', path], (_err, stdout, stderr) => resolve(`${stdout}${stderr}`)));
    };
    expect(await check(dom)).toMatch(/read 65536\/65536 bytes at offset 1048576/);
    const overlayPath = await overlayOf(dom);

    // Logout: the viewer goes; after the 2 s grace the desktop is recycled and a fresh one is warm.
    const loggedOut = Date.now();
    await viewer.close();
    await waitFor('the old desktop gone', async () => !(await desktops().get(name, NS)), 120_000);
    await waitFor('pool lab ready again', async () => {
      const p = await pools().get('lab', NS);
      return p?.status?.ready === 1 && (await poolDesktops('lab')).every((d) => d.metadata.name !== name);
    }, 180_000);
    console.log(`logout → fresh desktop ready: ${((Date.now() - loggedOut) / 1000).toFixed(1)} s`);
    const evs = await local!.store.events.list({ kind: 'VirtualDesktop', metadata: desktop.metadata }).catch(() => []);
    console.log(`events of ${name}: ${evs.map((e) => e.reason).join(', ')}`);

    const again = await call('GET', '/pools/lab/console?kind=vv', 'user3');
    expect(again.status, again.text).toBe(200);
    const fresh = (await desktops().get(again.headers.get('x-deskplane-desktop')!, NS))!;
    expect(fresh.metadata.name).not.toBe(name);
    expect(fresh.spec.owner).toBe('user3');
    const freshDom = (await domainOf(fresh))!;
    expect(await overlayOf(freshDom)).not.toBe(overlayPath);
    expect(await check(freshDom)).toMatch(/Pattern verification failed/);
    // And the old overlay is gone from the hosts' storage.
    const storage = join(testbed!.stateDir, 'local', 'storage');
    expect(readdirSync(storage).filter((f) => f.includes(desktop.metadata.uid!))).toEqual([]);
  });

  it('an idle desktop is stopped after its policy\'s idle time, with an Event and a condition', async () => {
    const policies = local!.store.client<KubeObject>(RESOURCE_TYPES.DesktopPolicy);
    await policies.create({ apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name: 'short-idle', namespace: NS }, spec: { subjects: { allUsersInNamespace: true }, desktopIdleSeconds: 10 } });
    const templates = local!.store.client<KubeObject>(RESOURCE_TYPES.DesktopTemplate);
    await templates.create({ apiVersion: API_VERSION, kind: 'DesktopTemplate', metadata: { name: 'idle-tpl', namespace: NS }, spec: { image: 'busybox', vcpus: 1, memory: '256Mi', disk: '1Gi', defaultPolicyRef: { name: 'short-idle' } } });
    await desktops().create({ apiVersion: API_VERSION, kind: 'VirtualDesktop', metadata: { name: 'sleepy', namespace: NS }, spec: { templateRef: { name: 'idle-tpl' }, owner: 'user4' } } as Desktop);
    const running = await waitFor('sleepy Running', async () => {
      const d = await desktops().get('sleepy', NS);
      return d?.status?.phase === 'Running' ? Date.now() : undefined;
    }, 180_000);
    const stopped = await waitFor('sleepy stopped for idleness', async () => {
      const d = await desktops().get('sleepy', NS);
      return d?.status?.phase === 'Stopped' ? d : undefined;
    }, 90_000).catch(async (err: Error) => {
      const d = await desktops().get('sleepy', NS);
      const p = await policies.get('short-idle', NS);
      throw new Error(`${err.message}\ndesktop: ${JSON.stringify({ spec: d?.spec, status: d?.status })}\npolicy: ${JSON.stringify(p)}`);
    });
    const after = (Date.now() - running) / 1000;
    console.log(`idle stop: Running → Stopped after ${after.toFixed(1)} s (policy: 10 s without a session)`);
    expect(after).toBeGreaterThanOrEqual(9);
    expect(stopped.spec.runStrategy).toBe('Halted');
    expect(stopped.status?.conditions?.find((c) => c.type === 'Idle')).toMatchObject({ status: 'True', reason: 'IdleStopped' });
    const evs = await local!.store.events.list({ kind: 'VirtualDesktop', metadata: stopped.metadata });
    expect(evs.map((e) => e.reason)).toContain('IdleStopped');
    expect((await domainOf(stopped))?.state).toBe('shut off');
    // Annotations the claim wrote are on the pool desktops, none on this one.
    expect(stopped.metadata.annotations?.[Annotations.ClaimedAt]).toBeUndefined();
  });
});
