/**
 * From settings to the domain: the platform settings parseConfig reads (defaults, refusals
 * naming the variable), what buildApi refuses, what it leaves unconfigured (503 + /readyz),
 * and the audit reader's mapping of the gateway's session records.
 */
import { createServer, type Server } from 'node:net';
import { EmbeddedStore } from '@deskplane/resource-store';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAuditReader, type AuditRecord } from './audit/redis-audit';
import { testCaller } from './auth/test-token';
import { ConfigError, parseConfig } from './config';
import { MemoryAuditLog } from './domain/audit';
import { apiSchemas } from './domain/resources';
import { CombinedAuditReader, buildApi, sessionAuditEntry } from './wiring';

const base = { DESKPLANE_API_USERS_FILE: '/etc/deskplane/users.json' };

describe('platform settings', () => {
  it('has defaults for everything but the gateway and Redis', () => {
    expect(parseConfig(base).platform).toEqual({
      sharedTemplatesNamespace: 'deskplane-system',
      gateway: { port: 5900 },
      ticketTtlSeconds: 60,
      consolesPerUserPerMinute: 10,
      poolConsoleWaitSeconds: 120,
      queuePrefix: 'deskplane',
      auditPrefix: 'deskplane:gateway',
    });
  });

  it('reads every one of them', () => {
    const p = parseConfig({
      ...base,
      DESKPLANE_API_KUBECONFIG: '/etc/kube/config',
      DESKPLANE_API_SHARED_TEMPLATES_NAMESPACE: 'none',
      DESKPLANE_API_GATEWAY_ADMIN: 'gateway-admin.deskplane:9443',
      DESKPLANE_API_GATEWAY_ADMIN_CA: '/tls/ca.pem',
      DESKPLANE_API_GATEWAY_ADMIN_CERT: '/tls/api.pem',
      DESKPLANE_API_GATEWAY_ADMIN_KEY: '/tls/api-key.pem',
      DESKPLANE_API_GATEWAY_HOST: 'spice.example.com',
      DESKPLANE_API_GATEWAY_PORT: '443',
      DESKPLANE_API_GATEWAY_TLS_PORT: '5901',
      DESKPLANE_API_GATEWAY_CA: '/tls/gw-ca.pem',
      DESKPLANE_API_GATEWAY_HOST_SUBJECT: 'CN=spice.example.com',
      DESKPLANE_API_GATEWAY_PROXY: 'http://spice.example.com:3128',
      DESKPLANE_API_BROWSER_CONSOLE_URL: 'https://desk.example.com/console',
      DESKPLANE_API_TICKET_TTL_S: '30',
      DESKPLANE_API_CONSOLE_PER_USER_PER_MINUTE: '4',
      DESKPLANE_API_POOL_CONSOLE_WAIT_S: '30',
      DESKPLANE_API_REDIS_URL: 'rediss://:pw@redis:6380/2',
      DESKPLANE_API_QUEUE_PREFIX: 'dp',
      DESKPLANE_API_AUDIT_PREFIX: 'dp:gateway',
    }).platform;
    expect(p).toEqual({
      kubeconfig: '/etc/kube/config',
      sharedTemplatesNamespace: null,
      gateway: {
        adminAddress: 'gateway-admin.deskplane:9443',
        adminTls: { caFile: '/tls/ca.pem', certFile: '/tls/api.pem', keyFile: '/tls/api-key.pem' },
        host: 'spice.example.com',
        port: 443,
        tlsPort: 5901,
        caFile: '/tls/gw-ca.pem',
        hostSubject: 'CN=spice.example.com',
        proxy: 'http://spice.example.com:3128',
      },
      browserConsoleUrl: 'https://desk.example.com/console',
      ticketTtlSeconds: 30,
      consolesPerUserPerMinute: 4,
      poolConsoleWaitSeconds: 30,
      redisUrl: 'rediss://:pw@redis:6380/2',
      queuePrefix: 'dp',
      auditPrefix: 'dp:gateway',
    });
  });

  it.each([
    ['GATEWAY_ADMIN', 'gateway-admin', /host:port/],
    ['GATEWAY_ADMIN_CA', '/tls/ca.pem', /_CERT and _KEY go together/],
    ['GATEWAY_PORT', '70000', /1 to 65535/],
    ['GATEWAY_PROXY', 'spice.example.com:3128', /http:\/\/host:port/],
    ['SHARED_TEMPLATES_NAMESPACE', 'Shared_Templates', /namespace name/],
    ['REDIS_URL', 'http://redis:6379', /redis:\/\/host:port/],
    ['TICKET_TTL_S', '7200', /5 to 3600/],
    ['POOL_CONSOLE_WAIT_S', '3600', /0 to 900/],
    ['BROWSER_CONSOLE_URL', 'desk.example.com', /http\(s\) URL/],
  ])('refuses DESKPLANE_API_%s=%s naming the variable', (name, value, message) => {
    try {
      parseConfig({ ...base, [`DESKPLANE_API_${name}`]: value });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(`DESKPLANE_API_${name}`);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('buildApi', () => {
  const store = new EmbeddedStore({ schemas: apiSchemas() });

  it('refuses a CA file it cannot read, naming the variable', () => {
    const config = parseConfig({ ...base, DESKPLANE_API_GATEWAY_HOST: 'gw', DESKPLANE_API_GATEWAY_CA: '/nonexistent/ca.pem' });
    expect(() => buildApi({ config, store })).toThrow(/^DESKPLANE_API_GATEWAY_CA: cannot read \/nonexistent\/ca.pem/);
  });

  it('names what is missing, and the routes needing it answer 503', async () => {
    const built = buildApi({ config: parseConfig(base), store });
    try {
      expect(built.missing).toEqual(['DESKPLANE_API_GATEWAY_ADMIN', 'DESKPLANE_API_GATEWAY_HOST']);
      const alice = testCaller({ user: 'alice', tenant: 'team-a' });
      await expect(built.deps.consoles.open(alice, 'dev', 'vv')).rejects.toMatchObject({ status: 503, message: expect.stringContaining('DESKPLANE_API_GATEWAY_HOST') as string });
      // Refused before anything is claimed: a pool console without a gateway would take a desktop for nothing.
      await expect(built.deps.pools.console(alice, 'office', 'vv')).rejects.toMatchObject({ status: 503, message: expect.stringContaining('DESKPLANE_API_GATEWAY_HOST') as string });
      await expect(built.deps.sessions.list(alice)).rejects.toMatchObject({ status: 503, message: expect.stringContaining('DESKPLANE_API_GATEWAY_ADMIN') as string });
      const settings = built.deps.readiness!.find((c) => c.name === 'settings')!;
      expect(() => settings.check()).toThrow('not configured: DESKPLANE_API_GATEWAY_ADMIN, DESKPLANE_API_GATEWAY_HOST');
      await expect(built.deps.ops.queueStats(testCaller({ user: 'olga', tenant: '', roles: ['platform-ops'] }))).rejects.toMatchObject({ status: 503 });
    } finally {
      await built.close();
    }
  });
});

describe('the audit log', () => {
  const record: AuditRecord = {
    id: '1735725600000-0',
    session: 'gs-1',
    sessionId: 7,
    user: 'alice',
    tenant: 'team-a',
    desktop: 'team-a/dev',
    policy: '',
    source: '192.0.2.1',
    transport: 'tcp',
    upstream: '10.0.0.7:5901',
    openedAt: '2025-01-01T09:00:00.000Z',
    endedAt: '2025-01-01T10:00:00.000Z',
    durationMs: 3_600_000,
    bytesToClient: 100,
    bytesToGuest: 50,
    reason: 'client closed',
    migrations: { seamless: 1, fallback: 0 },
  };

  it('maps a gateway session record to a session.end entry at its end time', () => {
    expect(sessionAuditEntry(record)).toEqual({
      id: 'session:1735725600000-0',
      time: '2025-01-01T10:00:00.000Z',
      action: 'session.end',
      tenant: 'team-a',
      user: 'alice',
      desktop: 'team-a/dev',
      details: expect.objectContaining({ session: 'gs-1', durationMs: 3_600_000, reason: 'client closed', migrations: { seamless: 1, fallback: 0 } }) as unknown,
    });
  });

  describe('when Redis is down', () => {
    let redis: Redis;
    beforeAll(async () => {
      // A port that was just free: connections are refused, as with a Redis that is not running.
      const probe: Server = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as { port: number }).port;
      await new Promise((r) => probe.close(r));
      redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => undefined);
    });
    afterAll(() => redis.disconnect());

    it('answers 503 naming the session audit stream', async () => {
      const own = new MemoryAuditLog();
      own.record({ action: 'desktop.create', user: 'alice', tenant: 'team-a' });
      const reader = new CombinedAuditReader(own, new RedisAuditReader(redis));
      await expect(reader.query({ limit: 10 })).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/session audit stream cannot be read/) as string });
    });
  });
});
