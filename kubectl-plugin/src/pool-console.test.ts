/**
 * `kubectl desktop console --pool POOL`: the request it makes, what the answer's headers
 * decide (the file name, the note on stderr), and every pool refusal as one line. The API
 * side is a stand-in HTTP server on loopback (NOT the Deskplane API: its real answers are
 * tested in services/api/test/pools.e2e.test.ts); it records what the plugin sent.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleUrl } from './api-client';
import { run } from './cli';
import { consoleErrorMessage, parseApiError, type ConsoleCallContext } from './console-errors';
import type { Io } from './io';

const ctx: ConsoleCallContext = {
  pool: 'office',
  tenant: 'team-a',
  apiUrl: 'https://dp.example',
  urlSource: '--api-url',
  credentialSource: '--token',
  now: new Date('2026-03-01T12:00:00Z'),
};
const body = (code: string, message: string, reason?: string) => JSON.stringify({ error: { code, message, ...(reason && { reason }), requestId: 'req-9' } });
const msg = (status: number, b: string) => consoleErrorMessage({ status, body: b }, ctx);

describe('pool refusals', () => {
  it('reads the reason of a 409', () => {
    expect(parseApiError(body('Conflict', 'x', 'exhausted'))).toEqual({ code: 'Conflict', message: 'x', reason: 'exhausted', requestId: 'req-9' });
  });

  it('passes on "exhausted" as the API says it, and turns "still starting" into running the command again', () => {
    expect(msg(409, body('Conflict', 'pool "office" has no free desktop: 4 of 4 claimed; ask your admin to raise size', 'exhausted'))).toBe(
      'pool "office" has no free desktop: 4 of 4 claimed; ask your admin to raise size',
    );
    expect(msg(409, body('Conflict', 'desktop "office-x1y2z" of pool "office" is still starting (Provisioning after 120 s); it stays yours: ask again in a moment', 'starting'))).toBe(
      'desktop "office-x1y2z" of pool "office" is still starting (Provisioning after 120 s); it stays yours: run the same command again in a moment',
    );
    expect(msg(409, body('Conflict', 'pool "office" is busy: …', 'busy'))).toBe('cannot open a desktop of pool "office": pool "office" is busy: …');
  });

  it('names the pool on 403 and 404, and an API without pool routes', () => {
    expect(msg(403, body('Forbidden', 'you may not claim desktops of pool "office"; ask your admin to add you to its claimants'))).toBe(
      'not allowed to claim a desktop of pool "office": you may not claim desktops of pool "office"; ask your admin to add you to its claimants',
    );
    expect(msg(404, body('NotFound', 'pool "office" not found'))).toBe('pool "office" not found in namespace "team-a": "kubectl get desktoppools -n team-a" lists its pools');
    expect(msg(404, body('NotFound', 'no route GET /pools/office/console'))).toMatch(/has no pool console route .* the API predates pools/);
    // What is not about the pool reads as for a desktop.
    expect(msg(429, body('TooManyRequests', 'too many console requests'))).toBe('too many console requests: try again in 60 s');
  });

  it('asks for /pools/POOL/console with the namespace as tenant', () => {
    expect(consoleUrl('https://dp.example', { pool: 'office' }, 'team-a').toString()).toBe('https://dp.example/pools/office/console?kind=vv&tenant=team-a');
    expect(consoleUrl('https://dp.example', { desktop: 'alice-dev' }, 'team-a').pathname).toBe('/desktops/alice-dev/console');
  });
});

describe('console --pool against a stand-in API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kd-pool-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  let server: Server;
  let api: string;
  const seen: { url?: string; headers?: IncomingHttpHeaders }[] = [];
  let answer: { status: number; headers: Record<string, string>; body: string } = { status: 200, headers: {}, body: '' };

  beforeAll(async () => {
    // The cluster is never called: --api-url and --token leave only the namespace to the kubeconfig.
    writeFileSync(
      kubeconfig,
      ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {token: x}}]', 'contexts: [{name: c, context: {cluster: c, user: u, namespace: team-a}}]', 'current-context: c'].join('\n'),
    );
    server = createServer((req, res) => {
      seen.push({ url: req.url!, headers: req.headers });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  function io() {
    const out: string[] = [];
    const err: string[] = [];
    const i: Io = { out: (l) => void out.push(l), err: (l) => void err.push(l), env: { PATH: dir }, now: () => new Date(), sleep: () => Promise.resolve() };
    return { i, out, err };
  }

  it('saves the claimed desktop’s .vv under the name the API gave, and says which desktop it is', async () => {
    answer = { status: 200, headers: { 'content-type': 'application/x-virt-viewer', 'x-deskplane-desktop': 'office-k3j9q', 'x-deskplane-claim': 'claimed' }, body: '[virt-viewer]\ntype=spice\nhost=gw\nport=5900\npassword=t1cket\n' };
    const { i, out, err } = io();
    const file = join(dir, 'office.vv');
    expect(await run(['console', '--pool', 'office', '--save', file, '--api-url', api, '--token', 'tok-1', '--kubeconfig', kubeconfig], i)).toBe(0);
    expect(seen.at(-1)!.url).toBe('/pools/office/console?kind=vv&tenant=team-a');
    expect(seen.at(-1)!.headers!.authorization).toBe('Bearer tok-1');
    expect(err).toEqual(['claiming a desktop of pool "office"; if none is running yet, this waits while it starts', 'desktop "office-k3j9q" of pool "office" (now yours)']);
    expect(out).toEqual([`saved the console of desktop "office-k3j9q" to ${file} (mode 0600); its ticket is short-lived: open it soon with "remote-viewer ${file}"`]);
    expect(readFileSync(file, 'utf8')).toContain('password=t1cket');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(err.join('\n')).not.toContain('t1cket');
  });

  it('refuses an answer that does not name the desktop (not the Deskplane API), writing nothing', async () => {
    answer = { status: 200, headers: { 'x-deskplane-desktop': '../../etc/passwd' }, body: '[virt-viewer]\npassword=t1cket\n' };
    const { i, err } = io();
    const file = join(dir, 'nameless.vv');
    expect(await run(['console', '--pool', 'office', '--save', file, '--api-url', api, '--token', 'tok-1', '--kubeconfig', kubeconfig], i)).toBe(1);
    expect(err.at(-1)).toMatch(/^error: .* did not say which desktop of pool "office" it gave you/);
    expect(() => statSync(file)).toThrow();
  });

  it('exits 1 with the API’s one line when the pool is exhausted', async () => {
    answer = { status: 409, headers: { 'content-type': 'application/json' }, body: body('Conflict', 'pool "office" has no free desktop: 2 of 2 claimed; ask your admin to raise size', 'exhausted') };
    const { i, out, err } = io();
    expect(await run(['console', '--pool', 'office', '--save', join(dir, 'none.vv'), '--api-url', api, '--token', 'tok-1', '--kubeconfig', kubeconfig], i)).toBe(1);
    expect(out).toEqual([]);
    expect(err.at(-1)).toBe('error: pool "office" has no free desktop: 2 of 2 claimed; ask your admin to raise size');
  });
});
