import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp, createApiLogger, parseConfig, checkOpenApiDocument, type ApiApp } from '../src/index';

/**
 * The foundation over real HTTP (Node's fetch): the app on port 0 with the built-in identity
 * provider, the way the local run starts it, and the `deskplane-api` entry point itself.
 */

const API_DIR = resolve(__dirname, '..');
const MAIN = join(API_DIR, 'src', 'main.ts');

let dir: string;
let api: ApiApp;
const logText: string[] = [];

/** Runs the real CLI (node + tsx, the package's source; from the package folder, whose tsconfig turns on decorators). */
function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): { child: ChildProcessWithoutNullStreams; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], { cwd: API_DIR, env: { PATH: process.env.PATH, HOME: dir, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(opts.input ?? '');
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on('close', (code) => r({ code, stdout, stderr })));
  return { child, done };
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { DESKPLANE_API_USERS_FILE: join(dir, 'users.json'), DESKPLANE_API_DATA_DIR: join(dir, 'data'), DESKPLANE_API_LISTEN: '127.0.0.1:0', ...extra };
}

/** A login/refresh answer or an error body: whichever the status says. */
interface Answer {
  accessToken: string;
  refreshToken: string;
  error: { code: string; message: string; requestId: string };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Answer }> {
  const res = await fetch(api.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Answer };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-foundation-'));
  // The users file is written with hashes from the real `deskplane-api hash-password`.
  const hashes: string[] = [];
  for (const pw of ['alice-secret', 'bob-secret', 'ops-secret']) {
    const { done } = cli(['hash-password'], { input: `${pw}\n` });
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    hashes.push(r.stdout.trim());
  }
  writeFileSync(
    join(dir, 'users.json'),
    JSON.stringify({
      users: [
        { username: 'alice', passwordHash: hashes[0], tenant: 'team-a', groups: ['staff'], roles: ['user'] },
        { username: 'bob', passwordHash: hashes[1], tenant: 'team-b', roles: ['user', 'tenant-admin'] },
        { username: 'ops', passwordHash: hashes[2], tenant: '', roles: ['platform-ops'] },
      ],
    }),
  );
  const config = parseConfig(env({ DESKPLANE_API_LOGIN_FAILURES_PER_USER_PER_MINUTE: '3', DESKPLANE_API_LOGIN_PER_IP_PER_MINUTE: '12', DESKPLANE_API_VALIDATE_RESPONSES: 'true' }));
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (logText.push(chunk.toString()), cb()) });
  api = await createApiApp({ logger: createApiLogger('info', sink) }, config);
});

afterAll(async () => {
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('foundation over HTTP with the built-in identity provider', () => {
  let tokens: Answer;

  it('logs in and /auth/me tells who I am', async () => {
    const login = await post('/auth/login', { username: 'alice', password: 'alice-secret' });
    expect(login.status).toBe(200);
    tokens = login.body;
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const me = await fetch(`${api.url}/auth/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ subject: 'alice', user: 'alice', tenant: 'team-a', groups: ['staff'], roles: ['user'] });
  });

  it('gives each role its own token (tests use api.testToken the same way)', async () => {
    for (const [user, roles] of [['bob', ['user', 'tenant-admin']], ['ops', ['user', 'platform-ops']]] as const) {
      const login = await post('/auth/login', { username: user, password: `${user}-secret` });
      const me = await (await fetch(`${api.url}/auth/me`, { headers: { authorization: `Bearer ${login.body.accessToken}` } })).json();
      expect((me as { roles: string[] }).roles.sort()).toEqual([...roles].sort());
    }
    const t = await api.testToken({ user: 'carol', tenant: 'team-b' });
    expect((await fetch(`${api.url}/auth/me`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
  });

  it('answers a wrong password with 401 and an error body', async () => {
    const r = await post('/auth/login', { username: 'alice', password: 'nope' }, { 'x-request-id': 'wrong-pw-1' });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: { code: 'Unauthorized', message: 'wrong username or password', requestId: 'wrong-pw-1' } });
    expect(r.headers.get('x-request-id')).toBe('wrong-pw-1');
  });

  it('refuses a token that is not ours and one without Bearer', async () => {
    const forged = `${(tokens.accessToken).slice(0, -4)}AAAA`;
    expect((await fetch(`${api.url}/auth/me`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect((await fetch(`${api.url}/auth/me`, { headers: { authorization: tokens.accessToken } })).status).toBe(401);
  });

  it('rotates the refresh token; the used one is refused; logout ends the sign-in', async () => {
    const next = await post('/auth/refresh', { refreshToken: tokens.refreshToken });
    expect(next.status).toBe(200);
    expect((await post('/auth/refresh', { refreshToken: tokens.refreshToken })).status).toBe(401);
    // Reuse revoked the family: the successor is dead too. Sign in again for the logout check.
    expect((await post('/auth/refresh', { refreshToken: next.body.refreshToken })).status).toBe(401);
    const fresh = (await post('/auth/login', { username: 'alice', password: 'alice-secret' })).body;
    const out = await post('/auth/logout', { refreshToken: fresh.refreshToken }, { authorization: `Bearer ${fresh.accessToken}` });
    expect(out.status).toBe(204);
    expect((await post('/auth/refresh', { refreshToken: fresh.refreshToken })).status).toBe(401);
  });

  it('rate-limits wrong passwords per user: 429 with Retry-After, even for the right password then', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('/auth/login', { username: 'bob', password: `guess-${i}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const right = await post('/auth/login', { username: 'bob', password: 'bob-secret' });
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(right.body.error.code).toBe('TooManyRequests');
    expect(right.body.error.message).toMatch(/too many failed sign-ins for this user/);
    // Another user is not held back by bob's failures.
    expect((await post('/auth/login', { username: 'ops', password: 'ops-secret' })).status).toBe(200);
  });

  it('rate-limits login attempts per client address', async () => {
    let r = await post('/auth/login', { username: 'nobody', password: 'x' });
    let n = 0;
    while (r.status !== 429 && n++ < 20) r = await post('/auth/login', { username: `nobody-${n}`, password: 'x' });
    expect(r.status).toBe(429);
    expect(r.body.error.message).toMatch(/too many sign-in attempts from this address/);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('serves a valid OpenAPI document and Swagger UI', async () => {
    const res = await fetch(`${api.url}/docs/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(checkOpenApiDocument(doc)).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/login', '/auth/me', '/healthz', '/readyz', '/metrics']));
    const ui = await fetch(`${api.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
    expect((await fetch(`${api.url}/docs/swagger-ui-bundle.js`)).status).toBe(200);
  });

  it('exposes metrics, liveness and readiness without a token', async () => {
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/deskplane_api_http_requests_total\{method="POST",route="\/auth\/login",status="401"\} [1-9]/);
    expect(metrics).toMatch(/deskplane_api_http_requests_total\{method="POST",route="\/auth\/login",status="429"\} [1-9]/);
    expect(metrics).toMatch(/deskplane_api_logins_total\{outcome="rate_limited"\} [1-9]/);
    expect(metrics).toContain('deskplane_api_http_request_duration_seconds_bucket');
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${api.url}/readyz`)).json()).toEqual({ status: 'ready', checks: {} });
  });

  it('never logged a password or a token', () => {
    const all = logText.join('');
    expect(all).toContain('"event":"http.request"');
    for (const secret of ['alice-secret', 'bob-secret', tokens.accessToken, tokens.refreshToken]) expect(all).not.toContain(secret);
  });

  it('keeps its signing key across a restart: a token from before still works', async () => {
    const token = await api.testToken({ user: 'alice', tenant: 'team-a' });
    const again = await createApiApp({ logger: createApiLogger('silent') }, parseConfig(env()));
    try {
      expect((await fetch(`${again.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await again.close();
    }
  });
});

describe('the deskplane-api entry point', () => {
  it('serves from DESKPLANE_API_* and stops cleanly on SIGTERM', async () => {
    const { child, done } = cli([], { env: env({ DESKPLANE_API_LOG_LEVEL: 'info' }) });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`no api.listening line: ${out}`)), 30_000);
      child.stdout.on('data', () => {
        const m = /"event":"api.listening","url":"([^"]+)"/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[1]!);
        }
      });
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"event":"api.stopping"');
  });

  it('stops with exit 2 naming the variable on a bad setting', async () => {
    const r = await cli([], { env: env({ DESKPLANE_API_LISTEN: 'nowhere' }) }).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DESKPLANE_API_LISTEN: must be host:port');
  });
});
