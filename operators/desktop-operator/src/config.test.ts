import { describe, expect, it } from 'vitest';
import { configFromEnv } from './config';

const base = { DESKPLANE_OPERATOR_REDIS_URL: 'redis://127.0.0.1:6379' };

describe('configFromEnv', () => {
  it('has defaults for everything but Redis', () => {
    const c = configFromEnv({ ...base, KUBECONFIG: '/k' });
    expect(c).toMatchObject({
      backend: { kind: 'kubernetes', kubeconfig: '/k' },
      lease: { name: 'deskplane-operator', namespace: 'default', durationMs: 10_000 },
      metrics: { host: '0.0.0.0', port: 9465 },
      heartbeatIntervalMs: 10_000,
      heartbeatGraceMs: 40_000,
      scheduler: { strategy: 'spread' },
    });
    expect(c.identity).toMatch(new RegExp(`-${process.pid}$`));
  });

  it('reads the embedded backend, selectors and TLS', () => {
    const c = configFromEnv({
      ...base,
      DESKPLANE_OPERATOR_BACKEND: 'embedded',
      DESKPLANE_OPERATOR_DATA_DIR: '/var/lib/dp',
      DESKPLANE_OPERATOR_HOST_SELECTOR: 'zone=a, class=gpu',
      DESKPLANE_OPERATOR_METRICS_LISTEN: 'off',
      DESKPLANE_OPERATOR_AGENT_TLS_CA: '/ca.pem',
      DESKPLANE_OPERATOR_AGENT_TLS_CERT: '/c.pem',
      DESKPLANE_OPERATOR_AGENT_TLS_KEY: '/k.pem',
    });
    expect(c.backend).toEqual({ kind: 'embedded', dataDir: '/var/lib/dp' });
    expect(c.hostSelector).toEqual({ zone: 'a', class: 'gpu' });
    expect(c.metrics).toBeUndefined();
    expect(c.agentTls).toEqual({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
  });

  it.each([
    [{}, 'DESKPLANE_OPERATOR_REDIS_URL: required'],
    [{ ...base, DESKPLANE_OPERATOR_BACKEND: 'etcd' }, 'DESKPLANE_OPERATOR_BACKEND: expected "kubernetes" or "embedded", got "etcd"'],
    [{ ...base, DESKPLANE_OPERATOR_BACKEND: 'embedded' }, 'DESKPLANE_OPERATOR_DATA_DIR: required'],
    [{ ...base, DESKPLANE_OPERATOR_HEARTBEAT_GRACE_MS: '-1' }, 'DESKPLANE_OPERATOR_HEARTBEAT_GRACE_MS: expected an integer >= 100'],
    [{ ...base, DESKPLANE_OPERATOR_AGENT_TLS_CERT: '/c.pem' }, 'AGENT_TLS_CERT and AGENT_TLS_KEY go together'],
    [{ ...base, DESKPLANE_OPERATOR_HOST_SELECTOR: 'zone' }, 'DESKPLANE_OPERATOR_HOST_SELECTOR: expected key=value'],
  ])('refuses %o', (env, message) => {
    expect(() => configFromEnv(env)).toThrow(message);
  });
});
