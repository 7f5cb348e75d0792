import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, redisOptions } from './config';

describe('configFromEnv', () => {
  it('defaults: kubernetes backend, KubeVirt-like migration limits (2 per host, 5 in the cluster)', () => {
    const c = configFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }, 'node-a');
    expect(c).toMatchObject({ backend: { kind: 'kubernetes' }, queuePrefix: 'deskplane', slots: { perHostOutbound: 2, global: 5, ttlMs: 30_000 }, lockDurationMs: 30_000, metrics: { host: '0.0.0.0', port: 9466 } });
    expect(c.agentTls).toBeUndefined();
    expect(c.drift).toEqual({ intervalMs: 30_000, orphanGraceMs: 300_000 });
  });

  it('drift repair: interval (0 = off), orphan grace, host selector', () => {
    const c = configFromEnv({ REDIS_URL: 'redis://x', DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS: '0', DESKPLANE_ORCHESTRATOR_ORPHAN_GRACE_MS: '5000', DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: 'zone=a, deskplane.io/e2e-run=abc' });
    expect(c.drift).toEqual({ intervalMs: 0, orphanGraceMs: 5000, hostSelector: { zone: 'a', 'deskplane.io/e2e-run': 'abc' } });
    expect(() => configFromEnv({ REDIS_URL: 'redis://x', DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: 'zone' })).toThrow(/HOST_SELECTOR must be k=v/);
  });

  it('gateway: off by default; admin address + graphics URI turn it on with a hold-back cap', () => {
    expect(configFromEnv({ REDIS_URL: 'redis://x' }).gateway).toBeUndefined();
    const c = configFromEnv({ REDIS_URL: 'redis://x', DESKPLANE_ORCHESTRATOR_GATEWAY_ADMIN: 'gw:7444', DESKPLANE_ORCHESTRATOR_GATEWAY_GRAPHICS_URI: 'spice://desktops.example.com:5900' });
    expect(c.gateway).toEqual({ adminAddress: 'gw:7444', graphicsUri: 'spice://desktops.example.com:5900', holdBandwidthMiBps: 2, readyTimeoutMs: 15_000 });
    expect(() => configFromEnv({ REDIS_URL: 'redis://x', DESKPLANE_ORCHESTRATOR_GATEWAY_ADMIN: 'gw:7444' })).toThrow(/GATEWAY_GRAPHICS_URI must be spice:/);
    expect(() => configFromEnv({ REDIS_URL: 'redis://x', DESKPLANE_ORCHESTRATOR_GATEWAY_ADMIN: 'gw:7444', DESKPLANE_ORCHESTRATOR_GATEWAY_GRAPHICS_URI: 'spice://gw:5900', DESKPLANE_ORCHESTRATOR_GATEWAY_HOLD_MIBPS: '0' })).toThrow(/GATEWAY_HOLD_MIBPS must be an integer >= 1/);
  });

  it('reads every setting and refuses bad ones with the variable name', () => {
    const c = configFromEnv({
      DESKPLANE_ORCHESTRATOR_BACKEND: 'embedded',
      DESKPLANE_ORCHESTRATOR_DATA_DIR: '/var/lib/dp',
      DESKPLANE_ORCHESTRATOR_REDIS_URL: 'rediss://u:p%40ss@redis:6380/2',
      DESKPLANE_ORCHESTRATOR_MIGRATIONS_PER_HOST: '1',
      DESKPLANE_ORCHESTRATOR_MIGRATIONS_GLOBAL: '3',
      DESKPLANE_ORCHESTRATOR_AGENT_TLS_CA: '/ca.pem',
      DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: 'off',
    });
    expect(c).toMatchObject({ backend: { kind: 'embedded', dataDir: '/var/lib/dp' }, slots: { perHostOutbound: 1, global: 3 }, agentTls: { caFile: '/ca.pem' } });
    expect(c.metrics).toBeUndefined();
    expect(redisOptions(c.redisUrl)).toEqual({ host: 'redis', port: 6380, username: 'u', password: 'p@ss', tls: {}, db: 2, maxRetriesPerRequest: null });
    expect(() => configFromEnv({})).toThrow(ConfigError);
    expect(() => configFromEnv({ REDIS_URL: 'redis://x', DESKPLANE_ORCHESTRATOR_MIGRATIONS_GLOBAL: '0' })).toThrow(/MIGRATIONS_GLOBAL must be an integer >= 1/);
    expect(() => configFromEnv({ REDIS_URL: 'redis://x', DESKPLANE_ORCHESTRATOR_BACKEND: 'embedded' })).toThrow(/DATA_DIR is required/);
  });
});
