import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import type { ResourceStore } from '@deskplane/resource-store';
import { loadState } from '@deskplane/testbed';
import { DEFAULT_API_LISTEN, localApi } from './api';
import { banner } from './banner';
import { DEFAULT_CONNECT_LISTEN, DEFAULT_GATEWAY_LISTEN, DEFAULT_WEBSOCKET_LISTEN, startLocal } from './local';
import type { Address } from './gateway';
import { statusTable } from './status';

/**
 * `bash testbed/bin/local` runs this after `testbed up`: Deskplane on this machine, the
 * embedded store under /var/lib/deskplane/local (kept across restarts). Ctrl-C stops it.
 */
async function main(): Promise<void> {
  const dataDir = process.env.DESKPLANE_LOCAL_DIR ?? '/var/lib/deskplane/local';
  const say = (m: string): void => void process.stdout.write(`${m}\n`);
  const gateway = {
    listen: address('DESKPLANE_LOCAL_GATEWAY_LISTEN', DEFAULT_GATEWAY_LISTEN),
    connectListen: process.env.DESKPLANE_LOCAL_GATEWAY_CONNECT_LISTEN === 'off' ? (false as const) : address('DESKPLANE_LOCAL_GATEWAY_CONNECT_LISTEN', DEFAULT_CONNECT_LISTEN),
    ...(process.env.DESKPLANE_LOCAL_GATEWAY_WS_LISTEN !== 'off' && { websocketListen: address('DESKPLANE_LOCAL_GATEWAY_WS_LISTEN', DEFAULT_WEBSOCKET_LISTEN) }),
  };
  // Listening from the start: a Ctrl-C while starting stops what started, cleanly, once it is up.
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const redisPrefix = process.env.DESKPLANE_LOCAL_REDIS_PREFIX || undefined;
  const apiListen = process.env.DESKPLANE_LOCAL_API_LISTEN === 'off' ? undefined : address('DESKPLANE_LOCAL_API_LISTEN', DEFAULT_API_LISTEN);
  const api = apiListen && localApi({ listen: apiListen });
  const local = await startLocal({ testbed: loadState(), dataDir, log: say, gateway, ...(redisPrefix && { redisPrefix }), ...(api && { api }) }).catch((err: Error) => {
    // The API names its own variable (api.ts); anything else that is busy is the gateway's.
    if (/EADDRINUSE/.test(err.message) && !err.message.includes('DESKPLANE_LOCAL_API_LISTEN')) {
      throw new Error(`${err.message}\nAnother program uses the gateway's port: set DESKPLANE_LOCAL_GATEWAY_LISTEN / DESKPLANE_LOCAL_GATEWAY_CONNECT_LISTEN / DESKPLANE_LOCAL_GATEWAY_WS_LISTEN (host:port, port 0 = any free one).`);
    }
    throw err;
  });
  say(banner(local, dataDir));
  let last = '';
  const show = async (): Promise<void> => {
    const table = await statusTable(local.store);
    if (table !== last) say(`${new Date().toISOString()}\n${table}\n`);
    last = table;
  };
  const timer = setInterval(() => void show().catch(() => undefined), 2000);
  await show();
  if (process.env.DESKPLANE_LOCAL_EXIT_WHEN_RUNNING) {
    // For scripts and tests: wait until every desktop runs, print, exit.
    await Promise.race([waitForRunning(local.store), stopped]);
    await show();
    clearInterval(timer);
    await local.close();
    return;
  }
  await stopped;
  clearInterval(timer);
  say('stopping…');
  await local.close();
}

/** host:port from the environment; port 0 = a free one. */
function address(variable: string, fallback: Address): Address {
  const v = process.env[variable];
  if (v === undefined || v === '') return fallback;
  const m = /^([^:\s]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65_535) throw new Error(`${variable} must be host:port (e.g. 127.0.0.1:5930), got "${v}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

async function waitForRunning(store: ResourceStore): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { items } = await store.client(RESOURCE_TYPES.VirtualDesktop).list();
    if (items.length > 0 && items.every((d) => (d.status as { phase?: string } | undefined)?.phase === 'Running')) return;
    if (Date.now() > deadline) throw new Error('desktops did not reach Running within 180 s');
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`deskplane local: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
