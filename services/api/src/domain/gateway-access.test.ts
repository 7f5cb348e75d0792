/**
 * Both GatewayAccess implementations over the gateway's real parts: a SessionRegistry and
 * a MemoryTicketStore, in process and behind the real admin gRPC server on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayAdminClient, MemoryTicketStore, SessionRegistry, hashTicket, startAdminServer, type AdminServer, type SessionEnd } from '@deskplane/gateway';
import { GrpcGatewayAccess, InProcessGatewayAccess, type GatewayAccess, type TicketRequest } from './gateway-access';
import { Unavailable } from './unavailable';

const registry = new SessionRegistry();
const tickets = new MemoryTicketStore();
let admin: AdminServer;
let client: GatewayAdminClient;

beforeAll(async () => {
  admin = await startAdminServer({ listen: { host: '127.0.0.1', port: 0 }, deps: { sessions: registry, tickets } });
  client = new GatewayAdminClient(`127.0.0.1:${admin.port}`, { deadlineMs: 5_000 });
});

afterAll(async () => {
  client.close();
  await admin.close();
});

const request: TicketRequest = {
  user: 'alice',
  tenant: 'team-a',
  desktop: 'team-a/dev',
  groups: ['devs'],
  upstream: { host: '10.0.0.7', port: 5901, password: 'guest-secret' },
  ttlSeconds: 60,
};

/** A live session as the link server would register it, with one channel whose closer detaches it. */
function openSession(tenant: string, user: string, desktop: string): string {
  const key = registry.open({ sessionId: 7, user, tenant, desktop, source: '192.0.2.1:50000', transport: 'tcp', upstream: '10.0.0.7:5901', policy: '' });
  const ch: { id?: number } = {};
  ch.id = registry.attach(key, { channelType: 1, channelId: 0, upstream: '10.0.0.7:5901', transport: 'tcp' }, (reason) => registry.detach(key, ch.id!, reason));
  registry.count(key, ch.id, 1000, 20);
  return key;
}

describe.each<[string, () => GatewayAccess]>([
  ['in-process', () => new InProcessGatewayAccess({ gateway: { sessions: registry }, tickets })],
  ['gRPC', () => new GrpcGatewayAccess(client)],
])('%s GatewayAccess', (_name, make) => {
  it('mints a ticket bound to user, tenant, desktop, groups and the guest', async () => {
    const before = Date.now();
    const { ticket, expiresAt } = await make().mint(request);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(expiresAt.getTime()).toBeGreaterThanOrEqual(before + 59_000);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    const record = await tickets.redeem(ticket);
    expect(record).toMatchObject({ user: 'alice', tenant: 'team-a', desktop: 'team-a/dev', groups: ['devs'], upstream: request.upstream, ticketHash: hashTicket(ticket) });
    expect(record?.policy ?? '').toBe('');
  });

  it('lists sessions by filter and kills one (its guest untouched, the session ended)', async () => {
    const mine = openSession('team-a', 'alice', 'team-a/dev');
    const other = openSession('team-b', 'bob', 'team-b/x');
    const gw = make();
    try {
      const listed = await gw.listSessions({ tenant: 'team-a' });
      expect(listed.map((s) => s.key)).toEqual([mine]);
      expect(listed[0]).toMatchObject({ user: 'alice', desktop: 'team-a/dev', upstream: '10.0.0.7:5901', channels: [{ name: 'main', bytesToClient: 1000, bytesToGuest: 20 }] });
      expect((await gw.listSessions({})).length).toBe(2);
      const ended = new Promise<SessionEnd>((resolve) => registry.once('closed', resolve));
      expect(await gw.killSession(mine, 'test kill')).toMatchObject({ key: mine, user: 'alice' });
      expect((await ended).reason).toBe('test kill');
      expect(await gw.killSession(mine, 'again')).toBeUndefined();
      expect((await gw.listSessions({})).map((s) => s.key)).toEqual([other]);
    } finally {
      registry.kill(other, 'cleanup');
    }
  });
});

describe('failures', () => {
  it('in-process: a guest whose console server does not answer the probe is 503, and no ticket is made', async () => {
    const size = tickets.size;
    const gw = new InProcessGatewayAccess({ gateway: { sessions: registry }, tickets, caps: { ensure: () => Promise.reject(new Error('connect ECONNREFUSED')) } });
    await expect(gw.mint(request)).rejects.toSatisfy((e) => e instanceof Unavailable && e.status === 503 && /ECONNREFUSED/.test(e.message));
    expect(tickets.size).toBe(size);
  });

  it('gRPC: an unreachable gateway is 503', async () => {
    const dead = new GatewayAdminClient('127.0.0.1:1', { deadlineMs: 1_000 });
    try {
      await expect(new GrpcGatewayAccess(dead).listSessions({})).rejects.toBeInstanceOf(Unavailable);
      await expect(new GrpcGatewayAccess(dead).mint(request)).rejects.toMatchObject({ status: 503 });
    } finally {
      dead.close();
    }
  });

  it('gRPC: a request the gateway refuses is an error, not a 503', async () => {
    const err = await new GrpcGatewayAccess(client).mint({ ...request, ttlSeconds: 999_999 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(Unavailable);
  });
});
