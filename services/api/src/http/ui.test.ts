import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiApp } from './app';
import { startTestApi } from './testing';

// The web console's built files, served at /ui/ when DESKPLANE_API_UI_DIR names them.
describe('serving the web console', () => {
  let ui: string;
  let api: ApiApp;
  const get = (path: string, init?: RequestInit) => fetch(api.url + path, { redirect: 'manual', ...init });

  beforeAll(async () => {
    ui = mkdtempSync(join(tmpdir(), 'deskplane-ui-'));
    mkdirSync(join(ui, 'assets'));
    writeFileSync(join(ui, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(ui, 'assets', 'index-AbCd1234.js'), 'console.log(1)');
    api = await startTestApi({}, { env: { DESKPLANE_API_UI_DIR: ui } });
  });
  afterAll(async () => {
    await api?.close();
    rmSync(ui, { recursive: true, force: true });
  });

  it('serves index.html at /ui/, never cached', async () => {
    const res = await get('/ui/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toContain('id="root"');
  });

  it('serves hashed assets as immutable', async () => {
    const res = await get('/ui/assets/index-AbCd1234.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(await res.text()).toBe('console.log(1)');
  });

  it('answers client routes with index.html, so a reload of /ui/console/x works', async () => {
    for (const path of ['/ui/console/my-desktop', '/ui/admin', '/ui/ops?x=1']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toContain('id="root"');
    }
  });

  it('answers a missing asset with 404, not the page', async () => {
    const res = await get('/ui/assets/gone-12345678.js');
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('id="root"');
  });

  it('does not serve files outside its directory', async () => {
    for (const path of ['/ui/..%2f..%2f..%2f..%2fetc%2fpasswd', '/ui/../../../../etc/passwd', '/ui/%2e%2e/%2e%2e/%2e%2e/etc/passwd']) {
      const res = await get(path);
      expect(await res.text(), path).not.toMatch(/root:.*:0:0:/);
    }
  });

  it('redirects / to /ui/', async () => {
    const res = await get('/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/ui/');
  });

  it('leaves the API as it was: its routes still need a token', async () => {
    expect((await get('/auth/me')).status).toBe(401);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/nothing-here')).status).toBe(404);
  });

  it('refuses to start without a built index.html, naming the variable', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'deskplane-ui-empty-'));
    try {
      await expect(startTestApi({}, { env: { DESKPLANE_API_UI_DIR: empty } })).rejects.toThrow(/DESKPLANE_API_UI_DIR: .* has no index.html/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('without DESKPLANE_API_UI_DIR', () => {
  it('has no /ui/ and no redirect at /', async () => {
    const api = await startTestApi({});
    try {
      expect((await fetch(`${api.url}/ui/`, { redirect: 'manual' })).status).toBe(404);
      expect((await fetch(`${api.url}/`, { redirect: 'manual' })).status).toBe(404);
    } finally {
      await api.close();
    }
  });
});
