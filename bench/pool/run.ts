/**
 * Claim-to-console on REAL guests: how long from a user's request until they hold a `.vv`
 * that opens their desktop, for
 *   - a warm pool (a running, unclaimed desktop is claimed: GET /pools/P/console),
 *   - a defined pool desktop (warm 0: the claim starts a provisioned, stopped guest),
 *   - a cold create (POST /desktops, then GET /desktops/N/console until it answers),
 * interleaved sample by sample in one run so load drifts hit all three alike. The cold
 * create is the baseline of the ratio.
 *
 * The whole product runs in this process (the local run: operator, orchestrator, two host
 * agents on libvirtd hosts with QEMU under TCG, gateway, API) on a testbed instance of its
 * own, taken down at the end.
 *
 *   TSX_TSCONFIG_PATH=services/api/tsconfig.json npx tsx --conditions=source bench/pool/run.ts [--samples 10]
 * (the API's Nest decorators need its tsconfig; tsx applies it to the API's files only)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { API_VERSION } from '@deskplane/api';
import { hashPassword } from '@deskplane/api-server';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import { localApi, startLocal, type RunningLocal } from '@deskplane/local';
import type { KubeObject } from '@deskplane/resource-store';
import { down, freeHostSubnet, up } from '@deskplane/testbed';
import { onInterrupt } from '../provision/interrupt';
import { markdownTable, ms, num, p50, p95 } from '../provision/stats';

const NS = 'demo';
const PASSWORD = 'bench-pool-secret';
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

interface Api {
  url: string;
  tokens: Map<string, string>;
}

async function login(url: string, user: string): Promise<string> {
  for (let i = 0; ; i++) {
    const r = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: PASSWORD }) });
    if (r.ok) return ((await r.json()) as { accessToken: string }).accessToken;
    if (i > 40) throw new Error(`login of ${user}: ${r.status} ${await r.text()}`);
    await sleep(250); // the API re-reads the users file when it changes
  }
}

async function get(api: Api, user: string, path: string, method = 'GET', body?: unknown): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.tokens.get(user)}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

/** Request → a 200 `.vv`; the answer is checked to be one. */
async function timed(what: string, fn: () => Promise<Response>): Promise<number> {
  const t0 = performance.now();
  const r = await fn();
  const text = await r.text();
  const t = performance.now() - t0;
  if (r.status !== 200 || !text.startsWith('[virt-viewer]')) throw new Error(`${what}: ${r.status} ${text.slice(0, 200)}`);
  return t;
}

/** Cold: create, then ask for the console until it answers (the API says 409 until Running). */
async function coldCreate(api: Api, user: string, name: string): Promise<number> {
  const t0 = performance.now();
  const created = await get(api, user, '/desktops', 'POST', { name, template: 'busybox' });
  if (created.status !== 201 && created.status !== 200) throw new Error(`create ${name}: ${created.status} ${await created.text()}`);
  for (;;) {
    const r = await get(api, user, `/desktops/${name}/console?kind=vv`);
    const text = await r.text();
    if (r.status === 200 && text.startsWith('[virt-viewer]')) return performance.now() - t0;
    if (r.status !== 409) throw new Error(`console of ${name}: ${r.status} ${text.slice(0, 200)}`);
    if (performance.now() - t0 > 180_000) throw new Error(`console of ${name}: not within 180 s`);
    await sleep(50);
  }
}

async function waitPool(local: RunningLocal, name: string, ready: number): Promise<void> {
  const pools = local.store.client<KubeObject & { status?: { ready?: number; desktops?: number } }>(RESOURCE_TYPES.DesktopPool);
  for (const deadline = Date.now() + 300_000; ; await sleep(250)) {
    const p = await pools.get(name, NS);
    if ((p?.status?.ready ?? 0) >= ready) return;
    if (Date.now() > deadline) throw new Error(`pool ${name}: ready ${p?.status?.ready} of ${ready} after 300 s`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string', default: '10' } } });
  const n = Number(values.samples);
  const id = randomBytes(3).toString('hex');
  const name = `bench-pool-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'bench-pool-'));
  let local: RunningLocal | undefined;
  const teardown = async (): Promise<void> => {
    await local?.close();
    await down({ name });
    rmSync(work, { recursive: true, force: true });
  };
  const unregister = onInterrupt(teardown);
  try {
    console.error(`bringing up testbed ${name} (Redis, 2 libvirtd hosts)…`);
    const testbed = await up({ name, hostSubnet: freeHostSubnet(), parts: { redis: true, kube: false, hosts: true } });
    mkdirSync(join(work, 'ui'), { recursive: true });
    writeFileSync(join(work, 'ui', 'index.html'), '<!doctype html><title>bench</title>\n');
    const any = { host: '127.0.0.1', port: 0 };
    local = await startLocal({
      testbed,
      dataDir: join(testbed.stateDir, 'local'),
      redisPrefix: name,
      gateway: { listen: any, connectListen: any },
      api: localApi({
        listen: any,
        env: {
          ...process.env,
          DESKPLANE_API_UI_DIR: join(work, 'ui'),
          DESKPLANE_API_LOGIN_PER_IP_PER_MINUTE: '10000',
          DESKPLANE_API_CONSOLE_PER_USER_PER_MINUTE: '10000',
          DESKPLANE_API_POOL_CONSOLE_WAIT_S: '300',
          DESKPLANE_API_LOG_LEVEL: 'warn',
        },
      }),
    });
    const api: Api = { url: local.apiUrl!.replace(/\/$/, ''), tokens: new Map() };

    const users = Array.from({ length: n }, (_, i) => `bench${i + 1}`);
    const file = local.identity.usersFile;
    const current = JSON.parse(readFileSync(file, 'utf8')) as { users: unknown[] };
    const hash = await hashPassword(PASSWORD, { N: 1024 });
    current.users.push(...users.map((username) => ({ username, passwordHash: hash, tenant: NS, groups: [], roles: ['user'] })));
    writeFileSync(file, JSON.stringify(current, null, 2), { mode: 0o600 });
    for (const u of users) api.tokens.set(u, await login(api.url, u));

    // Warm: every sample finds a running desktop. Defined: warm 0, every claim starts one.
    const pools = local.store.client<KubeObject>(RESOURCE_TYPES.DesktopPool);
    const pool = (pname: string, warm: number) =>
      pools.create({ apiVersion: API_VERSION, kind: 'DesktopPool', metadata: { name: pname, namespace: NS }, spec: { templateRef: { name: 'busybox' }, size: n, warm, assignment: 'Dedicated' } });
    await pool('warm', n);
    await pool('defined', 0);
    console.error(`waiting for pool warm to run ${n} desktops and pool defined to define ${n}…`);
    await waitPool(local, 'warm', n);
    // Every defined desktop placed and provisioned (phase Stopped): a claim then only starts it.
    const desktops = local.store.client<KubeObject & { status?: { phase?: string } }>(RESOURCE_TYPES.VirtualDesktop);
    for (const deadline = Date.now() + 300_000; ; await sleep(250)) {
      const defined = (await desktops.list({ namespace: NS })).items.filter((d) => d.metadata.labels?.['deskplane.io/pool'] === 'defined');
      if (defined.length === n && defined.every((d) => d.status?.phase === 'Stopped')) break;
      if (Date.now() > deadline) throw new Error(`pool defined: phases ${defined.map((d) => d.status?.phase).join(', ')} after 300 s (too many samples for the hosts' capacity?)`);
    }

    const samples = { warm: [] as number[], defined: [] as number[], cold: [] as number[] };
    for (let i = 0; i < n; i++) {
      const u = users[i]!;
      samples.warm.push(await timed('warm claim', () => get(api, u, '/pools/warm/console?kind=vv')));
      samples.defined.push(await timed('defined claim', () => get(api, u, '/pools/defined/console?kind=vv')));
      samples.cold.push(await coldCreate(api, u, `cold-${i + 1}`));
      // Not kept: every running guest costs the 2 cores a little, and the next sample should not pay for it.
      await get(api, u, `/desktops/cold-${i + 1}`, 'DELETE');
      console.error(`sample ${i + 1}/${n}: warm ${ms(samples.warm[i]!)}, defined ${ms(samples.defined[i]!)}, cold ${ms(samples.cold[i]!)}`);
    }

    const base = p50(samples.cold);
    const row = (label: string, v: number[]) => [label, String(v.length), ms(p50(v)), ms(p95(v)), `${num(base / p50(v), 1)}×`];
    console.log(`\nmachine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(
      markdownTable(
        ['path', 'measure', 'n', 'p50', 'p95', 'cold p50 ÷ p50'],
        [
          ['warm pool', 'GET /pools/warm/console → .vv (a running desktop is claimed)', ...row('', samples.warm).slice(1)],
          ['defined pool (warm 0)', 'GET /pools/defined/console → .vv (the claim starts a stopped, provisioned guest)', ...row('', samples.defined).slice(1)],
          ['cold create (baseline)', 'POST /desktops → GET console answers 200', ...row('', samples.cold).slice(1)],
        ],
      ),
    );
  } finally {
    await teardown();
    unregister();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
