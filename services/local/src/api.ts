/**
 * The API inside the local run: the same app a cluster runs (services/api), on the run's
 * embedded store, with the in-process gateway minting console tickets, the run's Redis for
 * queue statistics and the gateway's session audit stream, and the demo users' file as its
 * built-in identity provider. Its log goes to `<dataDir>/logs/api.log`, so the terminal keeps
 * showing the status table.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createApiLogger, InProcessGatewayAccess, parseConfig, startApi } from '@deskplane/api-server';
import { freePort } from '@deskplane/testbed';
import type { Address } from './gateway';
import type { LocalApiContext, LocalApiHook } from './local';
import { ensureWebConsole } from './web-console';

export const DEFAULT_API_LISTEN: Address = { host: '127.0.0.1', port: 8080 };

/** What the local run decides itself; every other DESKPLANE_API_* variable passes through. */
const OWNED = ['USERS_FILE', 'DATA_DIR', 'LISTEN', 'QUEUE_PREFIX', 'AUDIT_PREFIX'].map((s) => `DESKPLANE_API_${s}`);

/**
 * The API's environment: the caller's own DESKPLANE_API_* settings (token lifetimes, log
 * level, an extra OIDC provider, ...) with what must match the rest of the run — users
 * file, data dir, listen address, queue and audit-stream prefixes — set by the local run,
 * whatever the environment says about those.
 */
export function localApiEnv(ctx: Pick<LocalApiContext, 'identity' | 'dataDir' | 'redisPrefix'>, listen: Address, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const own = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('DESKPLANE_API_') && !OWNED.includes(k)));
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    ...own,
    DESKPLANE_API_USERS_FILE: ctx.identity.usersFile,
    DESKPLANE_API_DATA_DIR: join(ctx.dataDir, 'api'),
    DESKPLANE_API_LISTEN: `${host}:${listen.port}`,
    DESKPLANE_API_QUEUE_PREFIX: ctx.redisPrefix,
    DESKPLANE_API_AUDIT_PREFIX: `${ctx.redisPrefix}:gateway`,
    // The web console's page for a desktop (served by this API under /ui/), unless the caller names another.
    ...(listen.port !== 0 && !own.DESKPLANE_API_BROWSER_CONSOLE_URL && { DESKPLANE_API_BROWSER_CONSOLE_URL: `http://${browserHost(host)}:${listen.port}/ui/console/{name}` }),
  };
}

/** Loopback for a wildcard address: what a browser on this machine opens. */
function browserHost(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
}

/** Starts the API on `listen` (port 0 = any free one) once the rest of the local run is up. */
export function localApi(o: { listen: Address; env?: NodeJS.ProcessEnv }): LocalApiHook {
  return async (ctx) => {
    // Chosen before start: browser console URLs name the API's port.
    const listen = o.listen.port === 0 ? { host: o.listen.host, port: await freePort(o.listen.host) } : o.listen;
    // The web console at /ui/, built first when missing or stale, unless the caller names a folder.
    const env = { ...(o.env ?? process.env) };
    if (!env.DESKPLANE_API_UI_DIR) {
      const ui = await ensureWebConsole(ctx.log);
      if (ui) env.DESKPLANE_API_UI_DIR = ui;
    }
    const config = parseConfig(localApiEnv(ctx, listen, env));
    const logFile = join(ctx.dataDir, 'logs', 'api.log');
    mkdirSync(join(logFile, '..'), { recursive: true });
    const out = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    out.on('error', () => undefined); // a full disk must not stop the API
    const closeLog = (): Promise<void> => new Promise<void>((resolve) => out.end(resolve));
    const g = ctx.gateway;
    try {
      const api = await startApi({
        config,
        store: ctx.store,
        gateway: new InProcessGatewayAccess({ gateway: g.gateway, tickets: g.tickets, caps: { ensure: (t) => g.ensureCaps(t) } }),
        redis: ctx.redis,
        // .vv files name the gateway as this run started it; through its CONNECT front when
        // that is on, the way remote-viewer reaches a gateway behind a firewall.
        console: {
          host: g.host,
          port: g.port,
          ...(g.connectPort !== undefined && { proxy: `http://${g.host}:${g.connectPort}` }),
          ...(g.websocketUrl !== undefined && { websocketUrl: g.websocketUrl }),
        },
        logger: createApiLogger(config.logLevel, out),
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE') throw err;
        throw new Error(`the API cannot listen on ${config.listen.host}:${config.listen.port} (${err.message}): another program uses it; set DESKPLANE_LOCAL_API_LISTEN (host:port, port 0 = any free one)`);
      });
      return {
        url: api.url,
        close: async () => {
          await api.close();
          await closeLog();
        },
      };
    } catch (err) {
      await closeLog();
      throw err;
    }
  };
}
