/**
 * Tenant isolation over HTTP, route by route, on both backends. Every route the app mounts
 * must have a row in ROUTES (a new route without one fails the suite). Tenant A's user and
 * tenant admin aim every tenant-scoped route at tenant B's objects — a desktop whose console
 * is a real (paused) QEMU, a live gateway session that B's owner opened with a ticket from
 * this API, B's quota and policy — and get 404 (or 403 where their role is what stops them,
 * per the README's rule); ops routes are 403 for both. B is unchanged afterwards, and ops
 * reach across tenants.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { API_VERSION, DesktopPolicyKind } from '@deskplane/api';
import { embeddedSecretStore, kubernetesSecretStore } from '@deskplane/orchestrator';
import { KubernetesStore } from '@deskplane/resource-store';
import { freePort } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkUntil } from '../../../gateway/test/support/close-steps';
import { startQemu, stopQemu } from '../../../gateway/test/support/qemu';
import { clients } from '../src/domain/resources';
import { BACKENDS, call, openBackend, startPlatform, type Backend, type Platform } from './support/harness';
import { addPool, addPoolDesktop } from '../src/domain/pool-fixtures';
import { addDesktop, addTemplate, addTenant, setPhase, snapshot } from './support/seed';

interface Ctx {
  a: string;
  b: string;
  /** A KvmHost of this run (cluster-scoped on the kube backend, so named per run). */
  host: string;
  session: string;
}
interface Probe {
  method?: string;
  path: (c: Ctx) => string;
  body?: (c: Ctx) => unknown;
  /** What tenant A's user and tenant A's admin get. */
  user: number;
  admin: number;
}
type Row = { kind: 'tenant'; probes: Probe[] } | { kind: 'ops'; path: (c: Ctx) => string; body?: (c: Ctx) => unknown } | { kind: 'public' | 'self'; why: string };

const both = (status: number, path: Probe['path'], body?: Probe['body']): Probe => ({ path, user: status, admin: status, ...(body && { body }) });

/** Every mounted route, keyed `METHOD /path`. */
const ROUTES: Record<string, Row> = {
  'GET /healthz': { kind: 'public', why: 'liveness, no data' },
  'GET /readyz': { kind: 'public', why: 'readiness, check names only' },
  'GET /metrics': { kind: 'public', why: 'aggregate counters by route template' },
  'POST /auth/login': { kind: 'public', why: 'own credentials' },
  'POST /auth/refresh': { kind: 'public', why: 'own refresh token' },
  'GET /auth/jwks.json': { kind: 'public', why: 'public keys' },
  'GET /auth/me': { kind: 'self', why: "the caller's own identity" },
  'POST /auth/logout': { kind: 'self', why: 'ends the sign-in of the refresh token presented' },
  'GET /templates': { kind: 'tenant', probes: [both(404, (c) => `/templates?tenant=${c.b}`)] },
  'GET /desktops': { kind: 'tenant', probes: [both(404, (c) => `/desktops?tenant=${c.b}`), { path: (c) => `/desktops?all=true&tenant=${c.b}`, user: 403, admin: 404 }] },
  'POST /desktops': {
    kind: 'tenant',
    probes: [both(404, () => '/desktops', () => ({ name: 'n1', template: 'b-only' })), both(404, (c) => `/desktops?tenant=${c.b}`, () => ({ name: 'n2', template: 'b-only' }))],
  },
  'GET /desktops/:name': { kind: 'tenant', probes: [both(404, () => '/desktops/x1'), both(404, (c) => `/desktops/x1?tenant=${c.b}`)] },
  'DELETE /desktops/:name': { kind: 'tenant', probes: [both(404, () => '/desktops/x1'), both(404, (c) => `/desktops/x1?tenant=${c.b}`)] },
  'POST /desktops/:name/start': { kind: 'tenant', probes: [both(404, (c) => `/desktops/x1/start?tenant=${c.b}`)] },
  'POST /desktops/:name/stop': { kind: 'tenant', probes: [both(404, () => '/desktops/x1/stop'), both(404, (c) => `/desktops/x1/stop?tenant=${c.b}`)] },
  'POST /desktops/:name/restart': { kind: 'tenant', probes: [both(404, (c) => `/desktops/x1/restart?tenant=${c.b}`)] },
  'GET /desktops/:name/console': { kind: 'tenant', probes: [both(404, () => '/desktops/x1/console?kind=vv'), both(404, (c) => `/desktops/x1/console?kind=browser&tenant=${c.b}`)] },
  'GET /pools': { kind: 'tenant', probes: [both(404, (c) => `/pools?tenant=${c.b}`)] },
  'POST /pools/:name/claim': { kind: 'tenant', probes: [both(404, () => '/pools/b-pool/claim'), both(404, (c) => `/pools/b-pool/claim?tenant=${c.b}`)] },
  'GET /pools/:name/console': { kind: 'tenant', probes: [both(404, () => '/pools/b-pool/console?kind=vv'), both(404, (c) => `/pools/b-pool/console?kind=browser&tenant=${c.b}`)] },
  'GET /events/desktops': { kind: 'tenant', probes: [both(404, (c) => `/events/desktops?tenant=${c.b}`)] },
  'GET /sessions': { kind: 'tenant', probes: [both(404, (c) => `/sessions?desktop=${c.b}/x1`), { path: (c) => `/sessions?all=true&desktop=${c.b}/x1`, user: 403, admin: 404 }] },
  'DELETE /sessions/:key': { kind: 'tenant', probes: [both(404, (c) => `/sessions/${c.session}`)] },
  'GET /tenant': { kind: 'tenant', probes: [{ path: (c) => `/tenant?tenant=${c.b}`, user: 403, admin: 404 }] },
  'GET /tenant/policies': { kind: 'tenant', probes: [{ path: (c) => `/tenant/policies?tenant=${c.b}`, user: 403, admin: 404 }] },
  'GET /ops/hosts': { kind: 'ops', path: () => '/ops/hosts' },
  'GET /ops/hosts/:name': { kind: 'ops', path: (c) => `/ops/hosts/${c.host}` },
  'POST /ops/hosts/:name/drain': { kind: 'ops', path: (c) => `/ops/hosts/${c.host}/drain` },
  'POST /ops/hosts/:name/undrain': { kind: 'ops', path: (c) => `/ops/hosts/${c.host}/undrain` },
  'GET /ops/migrations': { kind: 'ops', path: (c) => `/ops/migrations?tenant=${c.b}` },
  'POST /ops/migrations': { kind: 'ops', path: () => '/ops/migrations', body: (c) => ({ tenant: c.b, desktop: 'x1' }) },
  'DELETE /ops/migrations/:tenant/:name': { kind: 'ops', path: (c) => `/ops/migrations/${c.b}/m1` },
  'GET /ops/sessions': { kind: 'ops', path: (c) => `/ops/sessions?tenant=${c.b}` },
  'DELETE /ops/sessions/:key': { kind: 'ops', path: (c) => `/ops/sessions/${c.session}` },
  'GET /ops/queues': { kind: 'ops', path: () => '/ops/queues' },
  'GET /ops/audit': { kind: 'ops', path: (c) => `/ops/audit?tenant=${c.b}` },
  'GET /ops/tenants': { kind: 'ops', path: () => '/ops/tenants' },
  'PUT /ops/tenants/:tenant/quota': { kind: 'ops', path: (c) => `/ops/tenants/${c.b}/quota`, body: () => ({ desktops: 100 }) },
};

const methodOf = (key: string): string => key.slice(0, key.indexOf(' '));
const tenantRows = Object.entries(ROUTES).flatMap(([key, row]) => (row.kind === 'tenant' ? row.probes.map((probe, i) => [`${key} #${i + 1}`, methodOf(key), probe] as const) : []));
const opsRows = Object.entries(ROUTES).flatMap(([key, row]) => (row.kind === 'ops' ? [[key, row] as const] : []));

describe.each(BACKENDS)('tenant isolation on the %s backend', (kind) => {
  let backend: Backend;
  let p: Platform;
  let qemu: ChildProcess | undefined;
  let main: Socket | undefined;
  const ctx: Ctx = { a: '', b: '', host: '', session: '' };
  const tokens: Record<'alice' | 'carol' | 'bob' | 'ops', string> = { alice: '', carol: '', bob: '', ops: '' };
  let before: { desktops: Record<string, unknown>; quota: unknown; hostMaintenance: unknown };

  beforeAll(async () => {
    backend = await openBackend(kind, 'api-iso');
    const { store } = backend;
    ctx.a = backend.ns.a;
    ctx.b = backend.ns.b;
    ctx.host = `${ctx.a}-host`;
    await addTenant(store, ctx.b, { quota: { desktops: 10 } });
    await addTemplate(store, ctx.b, 'b-only');
    await addTemplate(store, ctx.a, 'a-only');
    await addDesktop(store, ctx.a, 'colleague', 'dave', 'a-only');
    const x1 = await addDesktop(store, ctx.b, 'x1', 'bob', 'b-only');
    // B's pool has a free desktop its probes must leave unclaimed; A's is for its claimant dave only.
    await addPool(store, ctx.b, 'b-pool', { size: 1 }, 'b-only');
    await addPoolDesktop(store, ctx.b, 'b-pool', 'b-pool-aaaaa', { template: 'b-only' });
    await addPool(store, ctx.a, 'a-pool', { size: 1, claimants: { users: ['dave'] } }, 'a-only');
    await addPoolDesktop(store, ctx.a, 'a-pool', 'a-pool-aaaaa', { template: 'a-only' });
    const policies = store.client(DesktopPolicyKind.info);
    for (const ns of [ctx.a, ctx.b]) {
      await policies.create({ apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name: `${ns}-policy`, namespace: ns }, spec: { subjects: { allUsersInNamespace: true }, clipboard: 'none' } });
    }
    // A host only for the "ops routes change nothing" check; not labelled for any operator's selector.
    await clients(store).hosts.create({ apiVersion: API_VERSION, kind: 'KvmHost', metadata: { name: ctx.host }, spec: { agentEndpoint: '127.0.0.1:1' } }).catch(() => undefined);

    // B's desktop runs: its console is a real SPICE server with the password the secret store holds.
    const secrets = store instanceof KubernetesStore ? kubernetesSecretStore(store.kc) : embeddedSecretStore(store);
    const password = await secrets.ensure({ namespace: ctx.b, name: 'x1', uid: x1.metadata.uid! });
    const port = await freePort('127.0.0.1');
    qemu = await startQemu(port, password);
    await setPhase(store, ctx.b, 'x1', 'Running', { address: '127.0.0.1', port });

    p = await startPlatform(backend);
    tokens.alice = await p.api.testToken({ user: 'alice', tenant: ctx.a });
    tokens.carol = await p.api.testToken({ user: 'carol', tenant: ctx.a, roles: ['tenant-admin'] });
    tokens.bob = await p.api.testToken({ user: 'bob', tenant: ctx.b });
    tokens.ops = await p.api.testToken({ user: 'olga', tenant: '', roles: ['platform-ops'] });

    // B's owner opens the console through this API and the gateway: a live session of B.
    const vv = await call(p.api, 'GET', '/desktops/x1/console?kind=vv', { token: tokens.bob });
    expect(vv.status, vv.text).toBe(200);
    expect(vv.headers.get('content-type')).toBe('application/x-virt-viewer');
    expect(vv.headers.get('content-disposition')).toBe('attachment; filename="x1.vv"');
    expect(vv.text).toMatch(/^delete-this-file=1$/m);
    expect(vv.text).not.toContain(password);
    const ticket = /^password=(.+)$/m.exec(vv.text)![1]!;
    main = (await linkUntil(p.gateway.port, ticket, 'mainInit')).socket;
    const mine = await call(p.api, 'GET', '/sessions', { token: tokens.bob });
    expect(mine.body.items).toHaveLength(1);
    expect(mine.body.items[0]).toMatchObject({ user: 'bob', tenant: ctx.b, desktop: `${ctx.b}/x1` });
    expect(mine.body.items[0]!.upstream).toBeUndefined(); // tenants never see guest addresses
    ctx.session = mine.body.items[0]!.key;

    before = {
      desktops: await snapshot(store, ctx.b),
      quota: (await clients(store).tenants.get(ctx.b))?.spec.quota,
      hostMaintenance: (await clients(store).hosts.get(ctx.host))?.spec.maintenance,
    };
  });

  afterAll(async () => {
    main?.destroy();
    await p?.close();
    if (qemu) await stopQemu(qemu);
    if (backend?.kind === 'kube') await clients(backend.store).hosts.delete(ctx.host).catch(() => undefined);
    await backend?.close();
  });

  it('has a row for every mounted route, and none for a route that is gone', () => {
    const mounted = p.api.routes.map((r) => `${r.method} ${r.path}`);
    expect(mounted.filter((r) => !(r in ROUTES)), 'routes without an isolation check').toEqual([]);
    expect(Object.keys(ROUTES).filter((r) => !mounted.includes(r)), 'checks of routes no longer mounted').toEqual([]);
  });

  it.each(tenantRows)('%s: tenant A gets the rule’s answer for B’s objects', async (_name, method, probe) => {
    for (const who of ['alice', 'carol'] as const) {
      const r = await call(p.api, method, probe.path(ctx), { token: tokens[who], ...(probe.body && { body: probe.body(ctx) }) });
      expect(r.status, `${who}: ${r.text}`).toBe(who === 'alice' ? probe.user : probe.admin);
      expect(r.text).not.toContain('x1" belongs'); // a 404 never says whose it is
    }
  });

  it.each(opsRows)('%s: 403 for tenant A’s user and admin', async (key, row) => {
    for (const who of ['alice', 'carol'] as const) {
      const r = await call(p.api, methodOf(key), row.path(ctx), { token: tokens[who], ...(row.body && { body: row.body(ctx) }) });
      expect(r.status, `${who}: ${r.text}`).toBe(403);
    }
  });

  it('left tenant B unchanged: desktops, quota, its live session, the host', async () => {
    expect(await snapshot(backend.store, ctx.b)).toEqual(before.desktops);
    expect((await clients(backend.store).tenants.get(ctx.b))?.spec.quota).toEqual(before.quota);
    expect((await clients(backend.store).hosts.get(ctx.host))?.spec.maintenance).toEqual(before.hostMaintenance);
    expect(p.gateway.sessions.get(ctx.session)).toBeDefined();
    expect(p.gateway.sessions.list({ user: 'alice' })).toEqual([]);
    expect((await call(p.api, 'GET', '/sessions', { token: tokens.bob })).body.items.map((s) => s.key)).toEqual([ctx.session]);
  });

  it('keeps B’s objects out of A’s lists', async () => {
    const templates = await call(p.api, 'GET', '/templates', { token: tokens.carol });
    expect(templates.body.items.map((t) => t.name)).toEqual(['a-only']);
    expect((await call(p.api, 'GET', '/desktops?all=true', { token: tokens.carol })).body.items.map((d) => d.name)).toEqual(['a-pool-aaaaa', 'colleague']);
    expect((await call(p.api, 'GET', '/sessions?all=true', { token: tokens.carol })).body.items).toEqual([]);
    expect((await call(p.api, 'GET', '/tenant/policies', { token: tokens.carol })).body.items.map((x) => x.name)).toEqual([`${ctx.a}-policy`]);
  });

  it('answers 403 for what a role does not allow on the own tenant’s objects', async () => {
    expect((await call(p.api, 'GET', '/desktops/colleague', { token: tokens.alice })).status).toBe(403);
    expect((await call(p.api, 'DELETE', '/desktops/colleague', { token: tokens.alice })).status).toBe(403);
    expect((await call(p.api, 'GET', '/tenant', { token: tokens.alice })).status).toBe(403);
    expect((await call(p.api, 'GET', '/desktops/colleague', { token: tokens.carol })).status).toBe(200);
    // A console is its owner's alone, admins included.
    expect((await call(p.api, 'GET', '/desktops/colleague/console', { token: tokens.carol })).status).toBe(403);
    // A pool of the own tenant whose claimants do not name the caller: 403, admins included; it stays unclaimed.
    for (const who of ['alice', 'carol'] as const) {
      expect((await call(p.api, 'POST', '/pools/a-pool/claim', { token: tokens[who] })).status).toBe(403);
      expect((await call(p.api, 'GET', '/pools/a-pool/console', { token: tokens[who] })).status).toBe(403);
      expect((await call(p.api, 'GET', '/pools', { token: tokens[who] })).body.items).toEqual([]);
    }
    expect((await clients(backend.store).desktops.get('a-pool-aaaaa', ctx.a))?.spec.owner).toBeUndefined();
    expect(await clients(backend.store).desktops.get('colleague', ctx.a)).toMatchObject({ metadata: { name: 'colleague' } });
  });

  it('gives B’s owner a browser console URL with the ticket in the fragment', async () => {
    const r = await call(p.api, 'GET', '/desktops/x1/console?kind=browser', { token: tokens.bob });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const url = new URL(String(r.body.url));
    expect(url.origin + url.pathname).toBe('https://console.example/');
    expect(url.search).toBe('');
    expect(new URLSearchParams(url.hash.slice(1)).get('desktop')).toBe(`${ctx.b}/x1`);
    expect(new URLSearchParams(url.hash.slice(1)).get('ticket')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Date.parse(String(r.body.expiresAt))).toBeGreaterThan(Date.now());
  });

  it('lets platform ops read and act across tenants', async () => {
    const d = await call(p.api, 'GET', `/desktops/x1?tenant=${ctx.b}`, { token: tokens.ops });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ tenant: ctx.b, owner: 'bob', host: 'kvm-e2e-1' });
    // x1 and the pool's unclaimed desktop: pool desktops count against the tenant's quota too.
    expect((await call(p.api, 'GET', `/tenant?tenant=${ctx.b}`, { token: tokens.ops })).body).toMatchObject({ name: ctx.b, quota: { desktops: 10 }, usage: { desktops: 2 } });
    // Ops without a tenant of their own must name one on a single-tenant route.
    const unnamed = await call(p.api, 'GET', '/desktops/x1', { token: tokens.ops });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.error.field).toBe('tenant');
    const sessions = await call(p.api, 'GET', `/ops/sessions?tenant=${ctx.b}`, { token: tokens.ops });
    expect(sessions.body.items).toHaveLength(1);
    expect(sessions.body.items[0]).toMatchObject({ key: ctx.session, user: 'bob' });
    expect(String(sessions.body.items[0]!.upstream)).toMatch(/^127\.0\.0\.1:\d+$/); // ops see where the guest is
    const killed = await call(p.api, 'DELETE', `/ops/sessions/${ctx.session}?reason=isolation%20test`, { token: tokens.ops });
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ key: ctx.session, tenant: ctx.b });
    expect(p.gateway.sessions.get(ctx.session)).toBeUndefined();
    const audit = await call(p.api, 'GET', `/ops/audit?tenant=${ctx.b}`, { token: tokens.ops });
    expect(audit.body.items.map((e) => e.action)).toEqual(['session.kill', 'console.open', 'console.open']);
  });
});
