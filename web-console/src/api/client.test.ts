import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TokenStore } from '../auth/tokens';
import { ApiError, createApi } from './client';

// A real HTTP server standing in for the API: it issues tokens, refuses stale ones with
// 401 and answers with the API's error body shape, so the client runs over real fetch.
let server: Server;
let base: string;
let valid = 'access-1';
let refreshes = 0;
let refreshWorks = true;
const seen: string[] = [];

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString()));
    req.on('end', () => resolve(s));
  });
}
const send = (res: ServerResponse, status: number, json?: unknown) => {
  res.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' });
  res.end(json === undefined ? undefined : JSON.stringify(json));
};

beforeAll(async () => {
  server = createServer((req, res) => {
    void (async () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
      if (req.url === '/auth/refresh') {
        refreshes++;
        const { refreshToken } = JSON.parse(await body(req)) as { refreshToken: string };
        if (!refreshWorks || refreshToken !== 'refresh-1') return send(res, 401, { error: { code: 'Unauthorized', message: 'refresh token used', requestId: 'r-1' } });
        valid = 'access-2';
        return send(res, 200, { accessToken: 'access-2', refreshToken: 'refresh-2', tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: 43200 });
      }
      if (req.headers.authorization !== `Bearer ${valid}`) return send(res, 401, { error: { code: 'Unauthorized', message: 'token expired', requestId: 'r-2' } });
      if (req.url === '/desktops' && req.method === 'POST') return send(res, 409, { error: { code: 'Conflict', message: 'the desktops quota (2) is used up', quota: 'desktops', requestId: 'r-3' } });
      if (req.url === '/bad') return send(res, 400, { error: { code: 'BadRequest', message: 'name: must match pattern', field: 'name', requestId: 'r-4' } });
      if (req.url === '/plain') {
        res.writeHead(502);
        return res.end('<html>bad gateway</html>');
      }
      if (req.url === '/gone') return send(res, 204);
      return send(res, 200, { items: [1, 2] });
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let tokens: TokenStore;
beforeEach(() => {
  valid = 'access-1';
  refreshes = 0;
  refreshWorks = true;
  seen.length = 0;
  tokens = new TokenStore(fetch, base, undefined);
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1' });
});

describe('api client', () => {
  it('sends the bearer token and returns the JSON body', async () => {
    const api = createApi({ base, tokens });
    expect(await api.get('/desktops')).toEqual({ items: [1, 2] });
    expect(seen).toEqual(['GET /desktops Bearer access-1']);
  });

  it('on 401 refreshes once, retries with the new token, and keeps the new pair', async () => {
    valid = 'access-0-expired-on-server';
    const api = createApi({ base, tokens });
    // The server only accepts access-2, which the refresh hands out.
    valid = 'access-2';
    expect(await api.get('/desktops')).toEqual({ items: [1, 2] });
    expect(refreshes).toBe(1);
    expect(seen).toEqual(['GET /desktops Bearer access-1', 'POST /auth/refresh -', 'GET /desktops Bearer access-2']);
    expect(tokens.accessToken).toBe('access-2');
    expect(tokens.refreshToken).toBe('refresh-2');
  });

  it('shares one refresh between concurrent 401s (refresh tokens are single use)', async () => {
    valid = 'access-2';
    const api = createApi({ base, tokens });
    await Promise.all([api.get('/a'), api.get('/b'), api.get('/c')]);
    expect(refreshes).toBe(1);
  });

  it('gives up after one refresh: a refused refresh signs out and the 401 surfaces as ApiError', async () => {
    valid = 'never';
    refreshWorks = false;
    const api = createApi({ base, tokens });
    const err = await api.get('/desktops').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(refreshes).toBe(1);
    expect(seen.filter((s) => s.startsWith('GET'))).toHaveLength(1);
    expect(tokens.signedIn).toBe(false);
  });

  it('turns error bodies into ApiError fields', async () => {
    const api = createApi({ base, tokens });
    const quota = (await api.post('/desktops', { name: 'x' }).catch((e: unknown) => e)) as ApiError;
    expect(quota).toMatchObject({ status: 409, code: 'Conflict', quota: 'desktops', requestId: 'r-3', message: 'the desktops quota (2) is used up' });
    expect(quota.field).toBeUndefined();
    const bad = (await api.get('/bad').catch((e: unknown) => e)) as ApiError;
    expect(bad).toMatchObject({ status: 400, code: 'BadRequest', field: 'name' });
    const plain = (await api.get('/plain').catch((e: unknown) => e)) as ApiError;
    expect(plain).toMatchObject({ status: 502, code: 'Http502' });
  });

  it('returns undefined for 204 and a status-0 ApiError when the server is unreachable', async () => {
    expect(await createApi({ base, tokens }).del('/gone')).toBeUndefined();
    const err = (await createApi({ base: 'http://127.0.0.1:1', tokens }).get('/x').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, code: 'NetworkError' });
  });
});
