import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseListen } from './config';

const P = 'DESKPLANE_GATEWAY_';
const KEY = Buffer.alloc(32, 7).toString('base64');

/** The ConfigError `env` produces (fails the test if parsing succeeds). */
function configError(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('gateway configuration from the environment', () => {
  it('has defaults that run a single local gateway: SPICE on 5900, admin on loopback, memory tickets, no policy', () => {
    expect(parseConfig({})).toEqual({
      listen: { host: '0.0.0.0', port: 5900 },
      admin: { listen: { host: '127.0.0.1', port: 7444 } },
      metricsListen: { host: '0.0.0.0', port: 9466 },
      tickets: { kind: 'memory' },
      policy: { kind: 'none' },
      handshakeTimeoutMs: 10_000,
      failedTickets: { maxFailures: 5, windowMs: 60_000 },
      logLevel: 'info',
      shutdownGraceMs: 10_000,
    });
  });

  it('reads every front, TLS, the Redis store, the policy source and the limits', () => {
    const c = parseConfig({
      [`${P}LISTEN`]: '[::]:15900',
      [`${P}TLS_CERT`]: '/tls/spice.crt',
      [`${P}TLS_KEY`]: '/tls/spice.key',
      [`${P}CONNECT_LISTEN`]: ':3128',
      [`${P}CONNECT_ALLOWED_TARGETS`]: 'gw.example.com:5900, [fd00::1]:5900',
      [`${P}WS_LISTEN`]: '0.0.0.0:8080',
      [`${P}WS_PATH`]: '/spice',
      [`${P}WS_ALLOWED_ORIGINS`]: 'https://console.example.com',
      [`${P}WS_MAX_PAYLOAD`]: '2097152',
      [`${P}ADMIN_LISTEN`]: '0.0.0.0:7444',
      [`${P}ADMIN_TLS_CERT`]: '/tls/admin.crt',
      [`${P}ADMIN_TLS_KEY`]: '/tls/admin.key',
      [`${P}ADMIN_TLS_CLIENT_CA`]: '/tls/ca.crt',
      [`${P}METRICS_LISTEN`]: 'off',
      [`${P}TICKET_STORE`]: 'redis://redis.deskplane:6379/2',
      [`${P}TICKET_KEY`]: KEY,
      [`${P}TICKET_PREFIX`]: 'dp:gw',
      [`${P}POLICY_SOURCE`]: 'kube',
      [`${P}POLICY_NAMESPACE`]: 'acme',
      KUBECONFIG: '/etc/kube/config',
      [`${P}HANDSHAKE_TIMEOUT_MS`]: '5000',
      [`${P}FAILED_TICKETS_PER_MINUTE`]: '20',
      [`${P}LOG_LEVEL`]: 'debug',
    });
    expect(c.listen).toEqual({ host: '::', port: 15900 });
    expect(c.tls).toEqual({ certFile: '/tls/spice.crt', keyFile: '/tls/spice.key' });
    expect(c.httpConnect).toEqual({ listen: { host: '0.0.0.0', port: 3128 }, allowedTargets: ['gw.example.com:5900', '[fd00::1]:5900'] });
    expect(c.websocket).toEqual({ listen: { host: '0.0.0.0', port: 8080 }, path: '/spice', allowedOrigins: ['https://console.example.com'], maxPayload: 2_097_152 });
    expect(c.admin).toEqual({ listen: { host: '0.0.0.0', port: 7444 }, tls: { certFile: '/tls/admin.crt', keyFile: '/tls/admin.key', clientCaFile: '/tls/ca.crt' } });
    expect(c.metricsListen).toBeUndefined();
    expect(c.tickets).toEqual({ kind: 'redis', url: 'redis://redis.deskplane:6379/2', prefix: 'dp:gw', key: Buffer.alloc(32, 7), previousKeys: [] });
    expect(c.policy).toEqual({ kind: 'kube', kubeconfig: '/etc/kube/config', namespace: 'acme' });
    expect(c).toMatchObject({ handshakeTimeoutMs: 5_000, failedTickets: { maxFailures: 20 }, logLevel: 'debug' });
  });

  it('reads an embedded policy store directory and turns the admin API off', () => {
    const c = parseConfig({ [`${P}POLICY_SOURCE`]: 'embedded:/var/lib/deskplane/store', [`${P}ADMIN_LISTEN`]: 'off' });
    expect(c.policy).toEqual({ kind: 'embedded', dir: '/var/lib/deskplane/store' });
    expect(c.admin).toBeUndefined();
  });

  it.each([
    ['a listen address without a port', { [`${P}LISTEN`]: '0.0.0.0' }, `${P}LISTEN`, 'must be host:port'],
    ['port 70000', { [`${P}LISTEN`]: ':70000' }, `${P}LISTEN`, 'must be host:port'],
    ['CONNECT without targets', { [`${P}CONNECT_LISTEN`]: ':3128' }, `${P}CONNECT_ALLOWED_TARGETS`, 'is required with CONNECT_LISTEN'],
    ['a CONNECT target without a port', { [`${P}CONNECT_LISTEN`]: ':3128', [`${P}CONNECT_ALLOWED_TARGETS`]: 'gw.example.com' }, `${P}CONNECT_ALLOWED_TARGETS`, 'must be host:port'],
    ['a relative WebSocket path', { [`${P}WS_LISTEN`]: ':8080', [`${P}WS_PATH`]: 'spice' }, `${P}WS_PATH`, 'must start with "/"'],
    ['an origin with a path', { [`${P}WS_LISTEN`]: ':8080', [`${P}WS_ALLOWED_ORIGINS`]: 'https://a.example.com/x' }, `${P}WS_ALLOWED_ORIGINS`, 'no path'],
    ['a certificate without its key', { [`${P}TLS_CERT`]: '/c' }, `${P}TLS_KEY`, 'is required with'],
    ['a key without its certificate', { [`${P}WS_LISTEN`]: ':8080', [`${P}WS_TLS_KEY`]: '/k' }, `${P}WS_TLS_CERT`, 'is required with'],
    ['admin mTLS without the client CA', { [`${P}ADMIN_TLS_CERT`]: '/c', [`${P}ADMIN_TLS_KEY`]: '/k' }, `${P}ADMIN_TLS_CLIENT_CA`, 'is required'],
    ['admin on every interface without mTLS', { [`${P}ADMIN_LISTEN`]: '0.0.0.0:7444' }, `${P}ADMIN_LISTEN`, 'is not a loopback address'],
    ['an unknown ticket store', { [`${P}TICKET_STORE`]: 'etcd://x' }, `${P}TICKET_STORE`, 'must be "memory" or a redis://'],
    ['Redis without the at-rest key', { [`${P}TICKET_STORE`]: 'redis://r:6379' }, `${P}TICKET_KEY`, 'is required with a Redis ticket store'],
    ['a 16-byte key', { [`${P}TICKET_STORE`]: 'redis://r:6379', [`${P}TICKET_KEY`]: Buffer.alloc(16).toString('base64') }, `${P}TICKET_KEY`, 'must be base64 of 32 bytes, got 16'],
    ['an unknown policy source', { [`${P}POLICY_SOURCE`]: 'file:/x' }, `${P}POLICY_SOURCE`, 'must be "kube"'],
    ['embedded with no directory', { [`${P}POLICY_SOURCE`]: 'embedded:' }, `${P}POLICY_SOURCE`, 'must be "kube"'],
    ['a handshake timeout of 50 ms', { [`${P}HANDSHAKE_TIMEOUT_MS`]: '50' }, `${P}HANDSHAKE_TIMEOUT_MS`, 'from 100 to 300000'],
    ['a fractional limit', { [`${P}FAILED_TICKETS_PER_MINUTE`]: '2.5' }, `${P}FAILED_TICKETS_PER_MINUTE`, 'whole number'],
    ['an unknown log level', { [`${P}LOG_LEVEL`]: 'loud' }, `${P}LOG_LEVEL`, 'must be one of'],
    ['a non-boolean', { [`${P}ADMIN_LISTEN`]: '0.0.0.0:7444', [`${P}ADMIN_INSECURE`]: 'maybe' }, `${P}ADMIN_INSECURE`, 'must be true or false'],
  ])('refuses %s, naming the variable', (_name, env, variable, message) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(message);
  });

  it('lets the admin API run without TLS off loopback only when told to', () => {
    const c = parseConfig({ [`${P}ADMIN_LISTEN`]: '10.0.0.5:7444', [`${P}ADMIN_INSECURE`]: 'true' });
    expect(c.admin).toEqual({ listen: { host: '10.0.0.5', port: 7444 } });
    expect(parseConfig({ [`${P}ADMIN_LISTEN`]: '[::1]:7444' }).admin?.listen.host).toBe('::1');
  });

  it('never echoes the credentials of a bad Redis URL', () => {
    const err = configError({ [`${P}TICKET_STORE`]: 'redis://user:hunter2@r:6379 x' });
    expect(err.message).not.toContain('hunter2');
  });

  it('parses listen addresses', () => {
    expect(parseListen('X', '127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('X', ':5900')).toEqual({ host: '0.0.0.0', port: 5900 });
    expect(parseListen('X', '[fd00::2]:5900')).toEqual({ host: 'fd00::2', port: 5900 });
  });
});
