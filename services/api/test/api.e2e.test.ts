/**
 * The tenant self-service routes over HTTP on both backends (an EmbeddedStore; the testbed's
 * kube-apiserver): templates, create, get, list, start / stop / restart, delete; quota and
 * validation refusals that create nothing; the live feed delivering a status change.
 * Phases are written the way the orchestrator writes them (no operator runs here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients } from '../src/domain/resources';
import { BACKENDS, call, openBackend, startPlatform, type Backend, type Platform } from './support/harness';
import { addDesktop, addTemplate, addTenant, setPhase, snapshot } from './support/seed';
import { openSse } from './support/sse';

describe.each(BACKENDS)('the API on the %s backend', (kind) => {
  let backend: Backend;
  let p: Platform;
  let alice: string;
  let carol: string;
  let a: string;

  beforeAll(async () => {
    backend = await openBackend(kind, 'api-crud');
    a = backend.ns.a;
    await addTemplate(backend.store, backend.ns.shared, 'small', 1, '256Mi');
    await addTemplate(backend.store, a, 'big', 16, '1Gi');
    await addTenant(backend.store, a, { quota: { desktops: 3, vcpus: 8 } });
    await addDesktop(backend.store, a, 'daves', 'dave', 'small');
    p = await startPlatform(backend);
    alice = await p.api.testToken({ user: 'alice', tenant: a });
    carol = await p.api.testToken({ user: 'carol', tenant: a, roles: ['tenant-admin'] });
  });

  afterAll(async () => {
    await p?.close();
    await backend?.close();
  });

  it('lists the templates I may use: the shared one and my tenant’s own', async () => {
    const r = await call(p.api, 'GET', '/templates', { token: alice });
    expect(r.status).toBe(200);
    expect(r.body.items).toEqual([
      expect.objectContaining({ name: 'big', source: 'tenant', vcpus: 16, memory: '1Gi' }),
      expect.objectContaining({ name: 'small', source: 'shared', vcpus: 1, memory: '256Mi' }),
    ]);
  });

  it('creates a desktop (201), then gets and lists it; a colleague’s desktop stays out of my list', async () => {
    const created = await call(p.api, 'POST', '/desktops', { token: alice, body: { name: 'dev', template: 'small' } });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name: 'dev', tenant: a, owner: 'alice', template: 'small', runStrategy: 'Always', phase: 'Pending', deleting: false });
    expect(created.body.host).toBeUndefined();
    const stored = await clients(backend.store).desktops.get('dev', a);
    expect(stored?.spec).toMatchObject({ owner: 'alice', templateRef: { name: 'small' } });
    expect((await call(p.api, 'GET', '/desktops/dev', { token: alice })).body).toMatchObject({ name: 'dev', owner: 'alice' });
    expect((await call(p.api, 'GET', '/desktops', { token: alice })).body.items.map((d) => d.name)).toEqual(['dev']);
    // The same tenant's other user: 403 on the object (role), absent from my list; the admin sees both.
    expect((await call(p.api, 'GET', '/desktops/daves', { token: alice })).status).toBe(403);
    expect((await call(p.api, 'GET', '/desktops?all=true', { token: alice })).status).toBe(403);
    expect((await call(p.api, 'GET', '/desktops?all=true', { token: carol })).body.items.map((d) => d.name)).toEqual(['daves', 'dev']);
  });

  it('stops and starts it (202) by its run strategy, and restarts a running one through a stop', async () => {
    const stop = await call(p.api, 'POST', '/desktops/dev/stop', { token: alice });
    expect(stop.status).toBe(202);
    expect(stop.body.runStrategy).toBe('Halted');
    expect((await clients(backend.store).desktops.get('dev', a))?.spec.runStrategy).toBe('Halted');
    const start = await call(p.api, 'POST', '/desktops/dev/start', { token: alice });
    expect(start.status).toBe(202);
    expect((await clients(backend.store).desktops.get('dev', a))?.spec.runStrategy).toBe('Always');

    // Not run yet: nothing to restart.
    const early = await call(p.api, 'POST', '/desktops/dev/restart', { token: alice });
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(/once it has run/);

    await setPhase(backend.store, a, 'dev', 'Running');
    const restarting = call(p.api, 'POST', '/desktops/dev/restart', { token: alice });
    // Play the orchestrator: once the API asked for Halted, the guest begins to stop.
    const deadline = Date.now() + 20_000;
    while ((await clients(backend.store).desktops.get('dev', a))?.spec.runStrategy !== 'Halted') {
      if (Date.now() > deadline) throw new Error('restart never asked for a stop');
      await new Promise((r) => setTimeout(r, 50));
    }
    await setPhase(backend.store, a, 'dev', 'Stopping');
    const restarted = await restarting;
    expect(restarted.status, restarted.text).toBe(202);
    expect(restarted.body.runStrategy).toBe('Always');
  });

  it('refuses a desktop over quota with 409 naming the quota, and creates nothing', async () => {
    const before = await snapshot(backend.store, a);
    const cpu = await call(p.api, 'POST', '/desktops', { token: alice, body: { name: 'huge', template: 'big' } });
    expect(cpu.status).toBe(409);
    expect(cpu.body.error).toMatchObject({ code: 'Conflict', quota: 'vcpus' });
    expect(cpu.body.error.message).toMatch(/quota exceeded: vcpus 2\/8 used, this desktop needs 16/);
    expect(await snapshot(backend.store, a)).toEqual(before);

    expect((await call(p.api, 'POST', '/desktops', { token: alice, body: { name: 'dev2', template: 'small' } })).status).toBe(201);
    const afterSecond = await snapshot(backend.store, a);
    const count = await call(p.api, 'POST', '/desktops', { token: alice, body: { name: 'dev3', template: 'small' } });
    expect(count.status).toBe(409);
    expect(count.body.error).toMatchObject({ code: 'Conflict', quota: 'desktops' });
    expect(count.body.error.message).toMatch(/quota exceeded: desktops 3\/3/);
    expect(await snapshot(backend.store, a)).toEqual(afterSecond);
    expect((await call(p.api, 'GET', '/desktops/dev3', { token: alice })).status).toBe(404);
  });

  it.each([
    [{ name: 'Bad_Name', template: 'small' }, 'name', /^name: must match/],
    [{ template: 'small' }, 'name', /^name: is required$/],
    [{ name: 'x'.repeat(64), template: 'small' }, 'name', /^name: must be at most 63 characters$/],
    [{ name: 'ok1' }, 'template', /^template: is required$/],
    [{ name: 'ok2', template: 5 }, 'template', /^template: must be a string$/],
    [{ name: 'ok3', template: 'small', runStrategy: 'Sometimes' }, 'runStrategy', /^runStrategy: must be one of "Always", "Halted", "Manual"$/],
    [{ name: 'ok4', template: 'small', persistent: 'yes' }, 'persistent', /^persistent: must be true or false$/],
    [{ name: 'ok5', template: 'small', gpu: true }, 'gpu', /^gpu: is not a known field$/],
  ])('refuses %j with 400 naming %s, and creates nothing', async (body, field, message) => {
    const before = await snapshot(backend.store, a);
    const r = await call(p.api, 'POST', '/desktops', { token: carol, body });
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
    expect(r.body.error.message).toMatch(message);
    expect(await snapshot(backend.store, a)).toEqual(before);
  });

  it('a template that does not exist is 404 and creates nothing', async () => {
    const before = await snapshot(backend.store, a);
    const r = await call(p.api, 'POST', '/desktops', { token: carol, body: { name: 'ghost', template: 'nope' } });
    expect(r.status).toBe(404);
    expect(await snapshot(backend.store, a)).toEqual(before);
  });

  it('streams my desktops’ status: a snapshot, then the change the orchestrator writes', async () => {
    const sse = await openSse(`${p.api.url}/events/desktops`, alice);
    try {
      expect(sse.status).toBe(200);
      expect(sse.contentType).toBe('text/event-stream');
      await sse.waitFor((e) => e.event === 'synced');
      const snap = sse.events.filter((e) => e.event === 'added').map((e) => e.data.name).sort();
      expect(snap).toEqual(['dev', 'dev2']); // not dave's
      await setPhase(backend.store, a, 'dev2', 'Running', { address: '127.0.0.1', port: 5999 });
      const changed = await sse.waitFor((e) => e.event === 'modified' && e.data.name === 'dev2' && e.data.phase === 'Running');
      expect(changed.data).toMatchObject({ tenant: a, ready: true, consoleReady: true });
      await setPhase(backend.store, a, 'daves', 'Running');
      const stopped = await call(p.api, 'POST', '/desktops/dev2/stop', { token: alice });
      expect(stopped.status).toBe(202);
      await sse.waitFor((e) => e.event === 'modified' && e.data.name === 'dev2' && e.data.runStrategy === 'Halted');
      expect(sse.events.some((e) => e.data.name === 'daves')).toBe(false);
    } finally {
      sse.close();
    }
  });

  it('refuses a console while the desktop is not running (409)', async () => {
    await setPhase(backend.store, a, 'dev', 'Stopped');
    const r = await call(p.api, 'GET', '/desktops/dev/console?kind=vv', { token: alice });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/Stopped, not Running: start it first/);
  });

  it('rate-limits consoles per user: the 11th request in a minute is 429 with Retry-After, others unaffected', async () => {
    const eve = await p.api.testToken({ user: 'eve', tenant: a });
    for (let i = 0; i < 10; i++) expect((await call(p.api, 'GET', '/desktops/nothing/console', { token: eve })).status).toBe(404);
    const limited = await call(p.api, 'GET', '/desktops/nothing/console', { token: eve });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('TooManyRequests');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await call(p.api, 'GET', '/desktops/nothing/console', { token: alice })).status).toBe(404);
  });

  it('deletes it (202): gone from GET and the list', async () => {
    const r = await call(p.api, 'DELETE', '/desktops/dev', { token: alice });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ name: 'dev', tenant: a, deleting: true });
    // No operator here, so no finalizer holds it back.
    expect((await call(p.api, 'GET', '/desktops/dev', { token: alice })).status).toBe(404);
    expect((await call(p.api, 'GET', '/desktops', { token: alice })).body.items.map((d) => d.name)).toEqual(['dev2']);
    expect((await call(p.api, 'DELETE', '/desktops/dev', { token: alice })).status).toBe(404);
  });
});
