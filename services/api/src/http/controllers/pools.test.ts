/**
 * The pool routes in-process on an EmbeddedStore, as buildApi wires them: what a pool console
 * answers (the desktop console's media types plus the claim headers), how the 409s tell
 * `exhausted` from `starting` in the error body, and that /metrics carries the pool numbers.
 * The gateway is the real ticket store in this process (no guest is reached).
 */
import { MemoryTicketStore, SessionRegistry } from '@deskplane/gateway';
import { embeddedSecretStore } from '@deskplane/orchestrator';
import { EmbeddedStore } from '@deskplane/resource-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config';
import { InProcessGatewayAccess } from '../../domain/gateway-access';
import { addPool, addPoolDesktop } from '../../domain/pool-fixtures';
import { apiSchemas } from '../../domain/resources';
import { addTemplate, setPhase } from '../../domain/test-fixtures';
import { buildApi, type BuiltApi } from '../../wiring';
import type { ApiApp } from '../app';
import { startTestApi } from '../testing';

const env = { DESKPLANE_API_GATEWAY_HOST: 'gw.example', DESKPLANE_API_POOL_CONSOLE_WAIT_S: '1', DESKPLANE_API_BROWSER_CONSOLE_URL: 'https://desk.example/console' };
let store: EmbeddedStore;
let built: BuiltApi;
let api: ApiApp;
let tickets: MemoryTicketStore;

async function get(path: string, user: string, method = 'GET'): Promise<{ status: number; headers: Headers; text: string }> {
  const token = await api.testToken({ user, tenant: 'team-a' });
  const res = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  store = new EmbeddedStore({ schemas: apiSchemas() });
  await addTemplate(store, 'team-a', 'small', 1, '1Gi');
  await addPool(store, 'team-a', 'office', { size: 2 });
  const d = await addPoolDesktop(store, 'team-a', 'office', 'office-aaaaa');
  await embeddedSecretStore(store).ensure({ namespace: 'team-a', name: 'office-aaaaa', uid: d.metadata.uid! });
  await setPhase(store, 'team-a', 'office-aaaaa', 'Running');
  await addPoolDesktop(store, 'team-a', 'office', 'office-bbbbb');
  await setPhase(store, 'team-a', 'office-bbbbb', 'Provisioning');
  tickets = new MemoryTicketStore();
  const gateway = new InProcessGatewayAccess({ gateway: { sessions: new SessionRegistry() }, tickets });
  built = buildApi({ config: parseConfig({ ...env, DESKPLANE_API_USERS_FILE: '/nonexistent' }), store, gateway });
  api = await startTestApi(built.deps, { controllers: built.controllers, env });
});

afterAll(async () => {
  await api?.close();
  await built?.close();
});

describe('GET /pools/:name/console', () => {
  it('answers a warm claim with the .vv a desktop console gives, naming the desktop and the claim', async () => {
    const r = await get('/pools/office/console', 'alice');
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-virt-viewer');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="office-aaaaa.vv"');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-deskplane-desktop')).toBe('office-aaaaa');
    expect(r.headers.get('x-deskplane-claim')).toBe('claimed');
    expect(r.text).toMatch(/^host=gw\.example$/m);
    const again = await get('/pools/office/console?kind=browser', 'alice');
    expect(again.headers.get('x-deskplane-claim')).toBe('reclaimed');
    expect(again.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(JSON.parse(again.text) as object).sort()).toEqual(['expiresAt', 'url']);
  });

  it('tells "still starting" (the desktop stays mine) from "exhausted" in error.reason', async () => {
    const slow = await get('/pools/office/console', 'bob');
    expect(slow.status).toBe(409);
    expect(JSON.parse(slow.text)).toMatchObject({ error: { code: 'Conflict', reason: 'starting' } });
    expect((await get('/pools', 'bob')).text).toContain('"mine":{"name":"office-bbbbb"');
    const none = await get('/pools/office/claim', 'carol', 'POST');
    expect(none.status).toBe(409);
    expect(JSON.parse(none.text)).toMatchObject({ error: { code: 'Conflict', reason: 'exhausted', message: 'pool "office" has no free desktop: 2 of 2 claimed; ask your admin to raise size' } });
  });

  it('refuses a name that cannot be a pool before looking, and counts what happened in /metrics', async () => {
    expect((await get('/pools/Not_A_Pool/claim', 'alice', 'POST')).status).toBe(400);
    const metrics = await fetch(`${api.url}/metrics`).then((r) => r.text());
    expect(metrics).toContain('deskplane_pool_claims_total{tenant="team-a",pool="office",result="claimed"} 2');
    expect(metrics).toContain('deskplane_pool_claims_total{tenant="team-a",pool="office",result="reclaimed"} 1');
    expect(metrics).toContain('deskplane_pool_claims_total{tenant="team-a",pool="office",result="exhausted"} 1');
    expect(metrics).toContain('deskplane_pool_time_to_console_seconds_count{tenant="team-a",pool="office"} 2');
  });
});
