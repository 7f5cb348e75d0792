import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryTicketStore, SessionRegistry } from '@deskplane/gateway';
import { embeddedSecretStore } from '@deskplane/orchestrator';
import { retryOnConflict, type EmbeddedStore } from '@deskplane/resource-store';
import { MemoryAuditLog } from './audit';
import { Consoles, browserUrl, type ConsoleConfig } from './consoles';
import { ApiError } from './errors';
import { InProcessGatewayAccess } from './gateway-access';
import { clients } from './resources';
import { addDesktop, addTemplate, caller, newStore, setPhase } from './test-fixtures';

const alice = caller('alice', 'team-a');
const carol = caller('carol', 'team-a', 'tenant-admin');

let store: EmbeddedStore;
let tickets: MemoryTicketStore;
let password: string;
let log: MemoryAuditLog;

function consoles(config: Partial<ConsoleConfig> = {}): Consoles {
  return new Consoles({
    store,
    secrets: embeddedSecretStore(store),
    gateway: new InProcessGatewayAccess({ gateway: { sessions: new SessionRegistry() }, tickets }),
    config: { gateway: { host: 'gw.example.org', port: 5900 }, browserBaseUrl: 'https://desk.example.org/console', ...config },
    audit: log,
  });
}

/** The `[virt-viewer]` keys of a .vv body. */
function vvKeys(body: string): Record<string, string> {
  expect(body.split('\n')[0]).toBe('[virt-viewer]');
  return Object.fromEntries(body.split('\n').slice(1).filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function status(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

beforeEach(async () => {
  store = newStore();
  tickets = new MemoryTicketStore();
  log = new MemoryAuditLog();
  await addTemplate(store, 'team-a', 'small', 1, '1Gi');
  const d = await addDesktop(store, 'team-a', 'dev', 'alice', 'small');
  password = await embeddedSecretStore(store).ensure({ namespace: 'team-a', name: 'dev', uid: d.metadata.uid! });
  await setPhase(store, 'team-a', 'dev', 'Running');
});

describe('Consoles.open', () => {
  it('hands the owner a .vv whose ticket leads to the guest with its real password', async () => {
    const r = await consoles().open(alice, 'dev', 'vv');
    if (r.kind !== 'vv') throw new Error('expected a .vv');
    expect(r.fileName).toBe('dev.vv');
    const keys = vvKeys(r.body);
    expect(keys).toEqual({ type: 'spice', host: 'gw.example.org', port: '5900', password: keys.password, title: 'dev (team-a)', 'delete-this-file': '1' });
    expect(r.body).not.toContain(password);
    const record = await tickets.redeem(keys.password!);
    expect(record).toMatchObject({ user: 'alice', tenant: 'team-a', desktop: 'team-a/dev', groups: ['team-a-staff'], upstream: { host: '127.0.0.1', port: 5901, password } });
    expect(Date.parse(r.expiresAt) - Date.now()).toBeGreaterThan(55_000);
    expect((await log.query({ limit: 5 }))[0]).toMatchObject({ action: 'console.open', desktop: 'team-a/dev', details: { kind: 'vv' } });
  });

  it('adds proxy= and the TLS fields when they are configured', async () => {
    const r = await consoles({ gateway: { host: 'gw.example.org', port: 5900, proxy: 'http://gw.example.org:3128', tlsPort: 5901, caCert: '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n', hostSubject: 'CN=gw.example.org' } }).open(alice, 'dev', 'vv');
    const keys = vvKeys((r as { body: string }).body);
    expect(keys).toMatchObject({ proxy: 'http://gw.example.org:3128', 'tls-port': '5901', 'secure-channels': 'all', 'host-subject': 'CN=gw.example.org' });
    expect(keys.ca).toBe('-----BEGIN CERTIFICATE-----\\nAAA\\n-----END CERTIFICATE-----\\n');
  });

  it('puts the browser ticket in the fragment, never in the query string', async () => {
    const r = await consoles({ browserBaseUrl: 'https://desk.example.org/console?theme=dark' }).open(alice, 'dev', 'browser');
    if (r.kind !== 'browser') throw new Error('expected a URL');
    const url = new URL(r.url);
    const ticket = new URLSearchParams(url.hash.slice(1)).get('ticket')!;
    expect(url.search).toBe('?theme=dark');
    expect(url.origin + url.pathname).toBe('https://desk.example.org/console');
    expect(new URLSearchParams(url.hash.slice(1)).get('desktop')).toBe('team-a/dev');
    expect((await tickets.redeem(ticket))?.user).toBe('alice');
    expect(browserUrl('https://x.example/#old', 'T', 'a/b')).toBe('https://x.example/#ticket=T&desktop=a%2Fb');
  });

  it('puts the desktop name for {name} and the gateway WebSocket URL in the fragment', () => {
    expect(browserUrl('http://127.0.0.1:8080/ui/console/{name}', 'T', 'demo/vd 1', 'ws://127.0.0.1:5932/spice')).toBe(
      'http://127.0.0.1:8080/ui/console/vd%201#ticket=T&desktop=demo%2Fvd+1&gateway=ws%3A%2F%2F127.0.0.1%3A5932%2Fspice',
    );
  });

  it.each([
    ['Stopped', 'desktop "dev" is Stopped, not Running: start it first'],
    ['Starting', 'desktop "dev" is Starting, not Running: try again once it runs'],
    ['Migrating', 'desktop "dev" is Migrating, not Running: try again once it runs'],
  ] as const)('answers 409 for a %s desktop, minting nothing', async (phase, message) => {
    await setPhase(store, 'team-a', 'dev', phase);
    expect(await status(consoles().open(alice, 'dev', 'vv'))).toMatchObject({ status: 409, message });
    expect(tickets.size).toBe(0);
  });

  it('answers 409 while the console is not ready or the password is missing', async () => {
    await retryOnConflict(clients(store).desktops, 'dev', 'team-a', (d) => ({ ...d, status: { ...d.status, console: { ready: false } } }), { status: true });
    expect(await status(consoles().open(alice, 'dev', 'vv'))).toMatchObject({ status: 409, message: 'the console of desktop "dev" is not ready yet; try again in a moment' });
    await addDesktop(store, 'team-a', 'nopw', 'alice', 'small');
    await setPhase(store, 'team-a', 'nopw', 'Running');
    expect(await status(consoles().open(alice, 'nopw', 'vv'))).toMatchObject({ status: 409, message: expect.stringContaining('no console password') as string });
    expect(tickets.size).toBe(0);
  });

  it('is for the owner only: a colleague and the tenant admin get 403', async () => {
    expect(await status(consoles().open(caller('bob', 'team-a'), 'dev', 'vv'))).toMatchObject({ status: 403 });
    expect(await status(consoles().open(carol, 'dev', 'browser'))).toMatchObject({ status: 403 });
    expect(tickets.size).toBe(0);
  });

  it('refuses an unknown kind, and browser consoles when none is configured (400 on kind)', async () => {
    expect(await status(consoles().open(alice, 'dev', 'rdp' as never))).toMatchObject({ status: 400, field: 'kind' });
    expect(await status(consoles({ browserBaseUrl: undefined }).open(alice, 'dev', 'browser'))).toMatchObject({ status: 400, field: 'kind' });
    expect(await status(consoles().open(alice, 'nope', 'vv'))).toMatchObject({ status: 404 });
  });
});
