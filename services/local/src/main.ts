import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import type { ResourceStore } from '@deskplane/resource-store';
import { loadState } from '@deskplane/testbed';
import { startLocal } from './local';
import { statusTable } from './status';

/**
 * `bash testbed/bin/local` runs this after `testbed up`: Deskplane on this machine, the
 * embedded store under /var/lib/deskplane/local (kept across restarts). Ctrl-C stops it.
 */
async function main(): Promise<void> {
  const dataDir = process.env.DESKPLANE_LOCAL_DIR ?? '/var/lib/deskplane/local';
  const say = (m: string): void => void process.stdout.write(`${m}\n`);
  const local = await startLocal({ testbed: loadState(), dataDir, log: say });
  say(`Deskplane is running (data in ${dataDir}). Ctrl-C stops it.\n`);
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
    await waitForRunning(local.store);
    await show();
    clearInterval(timer);
    await local.close();
    return;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  say('stopping…');
  await local.close();
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
