import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Type } from '@nestjs/common';
import { parseConfig } from '../config';
import { createApiApp, type ApiApp } from './app';
import type { ApiDeps } from './deps';
import { createApiLogger } from './observability';

export interface TestApiOptions {
  controllers?: Type<unknown>[];
  /** Extra DESKPLANE_API_* settings (e.g. a users file with real users, rate limits). */
  env?: Record<string, string>;
}

/**
 * An app for tests: loopback, a free port, the built-in identity provider with an empty users
 * file and a fresh data directory (so `api.testToken(...)` works), responses checked against
 * their schemas, logs off unless `deps.logger` is given. close() also removes the directory.
 *
 * @example
 * const api = await startTestApi({ desktops }, { controllers: [DesktopsController] });
 * const tokenA = await api.testToken({ user: 'alice', tenant: 'tenant-a' });
 * const ops = await api.testToken({ user: 'ops', tenant: '', roles: ['platform-ops'] });
 */
export async function startTestApi(deps: ApiDeps, opts: TestApiOptions = {}): Promise<ApiApp & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'deskplane-api-test-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [] }));
  try {
    const config = parseConfig({
      DESKPLANE_API_USERS_FILE: join(dir, 'users.json'),
      DESKPLANE_API_DATA_DIR: join(dir, 'data'),
      DESKPLANE_API_LISTEN: '127.0.0.1:0',
      DESKPLANE_API_VALIDATE_RESPONSES: 'true',
      ...opts.env,
    });
    const api = await createApiApp({ logger: createApiLogger('silent'), ...deps }, config, { controllers: opts.controllers ?? [] });
    return {
      ...api,
      dir,
      close: async () => {
        try {
          await api.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
