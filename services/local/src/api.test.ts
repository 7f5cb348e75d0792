import { describe, expect, it } from 'vitest';
import { parseConfig } from '@deskplane/api-server';
import { localApiEnv } from './api';

const ctx = { identity: { usersFile: '/d/identity/users.json' }, dataDir: '/d', redisPrefix: 'deskplane-local' } as Parameters<typeof localApiEnv>[0];

describe('the local run\'s API settings', () => {
  it('points the API at the run\'s users file, data dir, listen address, queues and audit stream', () => {
    const config = parseConfig(localApiEnv(ctx, { host: '127.0.0.1', port: 8080 }, {}));
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.auth.builtin).toMatchObject({ usersFile: '/d/identity/users.json', dataDir: '/d/api' });
    expect(config.platform).toMatchObject({ queuePrefix: 'deskplane-local', auditPrefix: 'deskplane-local:gateway' });
  });

  it('sends browser consoles to the web console page served by this API, unless the caller names another', () => {
    expect(parseConfig(localApiEnv(ctx, { host: '0.0.0.0', port: 8080 }, {})).platform.browserConsoleUrl).toBe('http://127.0.0.1:8080/ui/console/{name}');
    expect(parseConfig(localApiEnv(ctx, { host: '127.0.0.1', port: 8080 }, { DESKPLANE_API_BROWSER_CONSOLE_URL: 'https://desk.example/c/{name}' })).platform.browserConsoleUrl).toBe('https://desk.example/c/{name}');
  });

  it('keeps the caller\'s other DESKPLANE_API_* settings but not the ones the run must decide', () => {
    const env = localApiEnv(ctx, { host: '::1', port: 0 }, {
      DESKPLANE_API_ACCESS_TOKEN_TTL_S: '60',
      DESKPLANE_API_LOG_LEVEL: 'debug',
      DESKPLANE_API_USERS_FILE: '/elsewhere.json',
      DESKPLANE_API_LISTEN: '0.0.0.0:9999',
      DESKPLANE_API_QUEUE_PREFIX: 'other',
      PATH: '/usr/bin',
    });
    expect(env).toMatchObject({ DESKPLANE_API_ACCESS_TOKEN_TTL_S: '60', DESKPLANE_API_LOG_LEVEL: 'debug', DESKPLANE_API_USERS_FILE: '/d/identity/users.json', DESKPLANE_API_LISTEN: '[::1]:0', DESKPLANE_API_QUEUE_PREFIX: 'deskplane-local' });
    expect(env.PATH).toBeUndefined();
    expect(parseConfig(env).listen).toEqual({ host: '::1', port: 0 });
  });

  it('lets a wrong pass-through setting stop the start naming the variable', () => {
    expect(() => parseConfig(localApiEnv(ctx, { host: '127.0.0.1', port: 0 }, { DESKPLANE_API_ACCESS_TOKEN_TTL_S: 'soon' }))).toThrow(/DESKPLANE_API_ACCESS_TOKEN_TTL_S/);
  });
});
