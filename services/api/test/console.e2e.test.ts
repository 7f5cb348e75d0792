/**
 * A console ticket from the API lets a real remote-viewer in through the gateway, on the
 * testbed: host agents on the libvirtd hosts, the operator and the orchestrator (the
 * orchestrator's e2e plane), a real gateway with its admin gRPC server and the Redis audit
 * stream, and the API started by startApi from DESKPLANE_API_* settings alone — the
 * kubeconfig, the admin address, Redis — as main.ts starts it on a cluster.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapsBook, CapsProber, MemoryTicketStore, RedisAuditStream, startAdminServer, startGateway, type AdminServer, type Gateway } from '@deskplane/gateway';
import { startViewer, type Viewer } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configFromEnv } from '../../orchestrator/src/config';
import { createLogger } from '../../orchestrator/src/log';
import { startOrchestrator, type RunningOrchestrator } from '../../orchestrator/src/orchestrator';
import { kubectl, startPlane, templateYaml, type Plane } from '../../orchestrator/test/support/plane';
import { parseConfig } from '../src/config';
import type { ApiApp } from '../src/http/app';
import { createApiLogger } from '../src/http/observability';
import { startApi } from '../src/wiring';
import { call } from './support/harness';

const ARTIFACTS = join(__dirname, '../../../test-artifacts/api-console');
const poll = { timeout: 180_000, interval: 500 };

describe('a console ticket from the API through the gateway to a real remote-viewer', () => {
  let plane: Plane;
  let orch: RunningOrchestrator;
  let gw: Gateway;
  let admin: AdminServer;
  let redis: Redis;
  let auditStream: RedisAuditStream;
  let api: ApiApp;
  let viewer: Viewer | undefined;
  let dir: string;
  let alice: string;
  let ops: string;
  const desktop = 'vd-api';

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'api-console-'));
    writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [] }));
    plane = await startPlane('api-con');
    const tickets = new MemoryTicketStore();
    const caps = new CapsBook();
    gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, tickets, caps });
    redis = new Redis({ ...plane.redis, maxRetriesPerRequest: null });
    auditStream = new RedisAuditStream(redis, { prefix: `${plane.prefix}:gateway` });
    auditStream.attach(gw.sessions);
    admin = await startAdminServer({ listen: { host: '127.0.0.1', port: 0 }, deps: { sessions: gw.sessions, tickets, caps: new CapsProber(caps), migration: gw.migrations } });
    orch = await startOrchestrator({
      config: configFromEnv({
        DESKPLANE_ORCHESTRATOR_REDIS_URL: plane.redisUrl,
        DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: plane.prefix,
        DESKPLANE_ORCHESTRATOR_KUBECONFIG: plane.kubeconfig,
        DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: '127.0.0.1:0',
        DESKPLANE_ORCHESTRATOR_IDENTITY: `api-con-${plane.run}`,
        DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: `deskplane.io/e2e-run=${plane.run}`,
      }),
      store: plane.store,
      log: createLogger({ level: process.env.ORCHESTRATOR_TEST_LOG ?? 'warn' }),
    });
    const config = parseConfig({
      DESKPLANE_API_USERS_FILE: join(dir, 'users.json'),
      DESKPLANE_API_DATA_DIR: join(dir, 'data'),
      DESKPLANE_API_LISTEN: '127.0.0.1:0',
      DESKPLANE_API_VALIDATE_RESPONSES: 'true',
      DESKPLANE_API_KUBECONFIG: plane.kubeconfig,
      DESKPLANE_API_GATEWAY_ADMIN: `127.0.0.1:${admin.port}`,
      DESKPLANE_API_GATEWAY_HOST: '127.0.0.1',
      DESKPLANE_API_GATEWAY_PORT: String(gw.port),
      DESKPLANE_API_REDIS_URL: plane.redisUrl,
      DESKPLANE_API_QUEUE_PREFIX: plane.prefix,
      DESKPLANE_API_AUDIT_PREFIX: `${plane.prefix}:gateway`,
      DESKPLANE_API_SHARED_TEMPLATES_NAMESPACE: 'none',
    });
    api = await startApi({ config, logger: createApiLogger(process.env.API_TEST_LOG === '1' ? 'info' : 'silent') });
    alice = await api.testToken({ user: 'alice', tenant: plane.ns });
    ops = await api.testToken({ user: 'olga', tenant: '', roles: ['platform-ops'] });
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], templateYaml('api-small'));
  });

  afterAll(async () => {
    await viewer?.close();
    // The desktop goes through the operator and the orchestrator, so its guest leaves the host.
    if (api && alice) {
      await call(api, 'DELETE', `/desktops/${desktop}`, { token: alice }).catch(() => undefined);
      await vi.waitFor(async () => expect((await call(api, 'GET', `/desktops/${desktop}`, { token: alice })).status).toBe(404), poll).catch(() => undefined);
    }
    await api?.close();
    await orch?.close();
    await admin?.close();
    await gw?.close();
    await auditStream?.flush().catch(() => undefined);
    if (redis) {
      const keys = await redis.keys(`${plane.prefix}:gateway:*`).catch(() => []);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
    }
    await plane?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is ready: store, Redis and the gateway answer', async () => {
    const r = await call(api, 'GET', '/readyz');
    expect(r.body).toEqual({ status: 'ready', checks: { store: 'ok', redis: 'ok', gateway: 'ok' } });
  });

  it('creates a desktop that the plane runs, and remote-viewer shows it from the API’s .vv file', async () => {
    const t0 = Date.now();
    const created = await call(api, 'POST', '/desktops', { token: alice, body: { name: desktop, template: 'api-small' } });
    expect(created.status, created.text).toBe(201);
    await vi.waitFor(async () => {
      const d = await call(api, 'GET', `/desktops/${desktop}`, { token: alice });
      expect(d.body.consoleReady, JSON.stringify(d.body)).toBe(true);
    }, poll);
    const runningMs = Date.now() - t0;

    const vv = await call(api, 'GET', `/desktops/${desktop}/console?kind=vv`, { token: alice });
    expect(vv.status, vv.text).toBe(200);
    expect(vv.headers.get('content-type')).toBe('application/x-virt-viewer');
    expect(vv.text).toContain(`host=127.0.0.1\nport=${gw.port}\n`);
    const file = join(dir, 'console.vv');
    writeFileSync(file, vv.text, { mode: 0o600 });
    viewer = await startViewer({ vvFile: file, timeoutMs: 60_000, log: join(ARTIFACTS, 'remote-viewer.log') });
    const firstFrameMs = viewer.firstPaintAt - t0;

    await vi.waitFor(() => expect(gw.sessions.list({ desktop: `${plane.ns}/${desktop}` })).toHaveLength(1), poll);
    expect(gw.sessions.list({ desktop: `${plane.ns}/${desktop}` })[0]).toMatchObject({ user: 'alice', tenant: plane.ns });
    // Past the firmware's screens: the booted guest's console counter ticks once a second.
    await new Promise((r) => setTimeout(r, 8_000));
    const watch = viewer.watchChanges({ intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 3_000));
    const { changes } = watch.stop();
    expect(changes.length).toBeGreaterThan(2);
    await viewer.screenshot(join(ARTIFACTS, 'console.png'));
    console.log(`api console e2e: create → Running ${runningMs} ms, → first frame ${firstFrameMs} ms, ${changes.length} picture changes in 3 s`);

    // The API lists the session for its user (over gRPC), without the guest's address.
    const mine = await call(api, 'GET', '/sessions', { token: alice });
    expect(mine.body.items).toHaveLength(1);
    expect(mine.body.items[0]).toMatchObject({ user: 'alice', desktop: `${plane.ns}/${desktop}`, transport: 'tcp' });
    expect(mine.body.items[0]!.upstream).toBeUndefined();
  });

  it('ends the session from the API: the gateway cuts it, the guest keeps running, the audit log has both sides', async () => {
    const [session] = (await call(api, 'GET', '/sessions', { token: alice })).body.items;
    const killed = await call(api, 'DELETE', `/sessions/${session!.key}?reason=e2e`, { token: alice });
    expect(killed.status, killed.text).toBe(200);
    await vi.waitFor(() => expect(gw.sessions.list({ desktop: `${plane.ns}/${desktop}` })).toHaveLength(0), poll);
    expect((await call(api, 'GET', `/desktops/${desktop}`, { token: alice })).body).toMatchObject({ phase: 'Running' });
    const audit = await vi.waitFor(async () => {
      const r = await call(api, 'GET', `/ops/audit?tenant=${plane.ns}`, { token: ops });
      expect(r.body.items.map((e) => e.action)).toContain('session.end');
      return r.body.items;
    }, poll);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['desktop.create', 'console.open', 'session.kill', 'session.end']));
    expect(audit.find((e) => e.action === 'session.end')).toMatchObject({ user: 'alice', desktop: `${plane.ns}/${desktop}`, details: { reason: 'e2e' } });
  });

  it('shows ops the queues the operator and the orchestrator use', async () => {
    const r = await call(api, 'GET', '/ops/queues', { token: ops });
    expect(r.status, r.text).toBe(200);
    expect(r.body.items.length).toBeGreaterThan(0);
    expect(r.body.items.some((q) => Number((q.counts as Record<string, number>).completed) > 0)).toBe(true);
  });
});
