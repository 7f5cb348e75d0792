/** `kubectl desktop migrate NAME`: one DesktopMigration, optionally followed to its end. */
import { API_VERSION, type DesktopMigration, type VirtualDesktop } from '@deskplane/api';
import type { Command } from '../args';
import { formatDuration } from '../duration';
import { CliError, KubeHttpError } from '../errors';
import type { Io } from '../io';
import { paths, type KubeClient } from '../kube';
import { ChangePrinter, migrationLine, migrationOutcome } from '../progress';

export const POLL_MS = 1000;

const desktopCtx = (name: string, namespace: string) =>
  ({ verb: 'get', resource: 'virtualdesktops', kind: 'VirtualDesktop', name, namespace, listHint: '"kubectl desktop list"' }) as const;

/** A target host that does not exist fails here, with a clear message, instead of as a Failed migration. */
async function checkTarget(kube: KubeClient, host: string): Promise<void> {
  try {
    await kube.raw('GET', paths.host(host));
  } catch (e) {
    // Tenants may not read KvmHosts (cluster-scoped, platform-only): the operator checks the target then.
    if (e instanceof KubeHttpError && e.code === 403) return;
    throw kube.explain(e, { verb: 'get', resource: 'kvmhosts', kind: 'KvmHost', name: host, listHint: '"kubectl get kvmhosts"' });
  }
}

export async function migrate(kube: KubeClient, cmd: Extract<Command, { name: 'migrate' }>, io: Io): Promise<number> {
  const ns = kube.namespace;
  const vd = await kube.call<VirtualDesktop>(desktopCtx(cmd.desktop, ns), 'GET', paths.desktop(ns, cmd.desktop));
  if (cmd.to !== undefined) {
    if (vd.status?.host === cmd.to) throw new CliError(`desktop "${cmd.desktop}" already runs on ${cmd.to}: pick another host, or leave out --to`);
    await checkTarget(kube, cmd.to);
  }
  const body: DesktopMigration = {
    apiVersion: API_VERSION,
    kind: 'DesktopMigration',
    metadata: { generateName: `${cmd.desktop}-`, namespace: ns },
    spec: { desktopName: cmd.desktop, ...(cmd.to !== undefined ? { targetHost: cmd.to } : {}) },
  };
  const created = await kube.call<DesktopMigration>(
    { verb: 'create', resource: 'desktopmigrations', kind: 'DesktopMigration', namespace: ns },
    'POST',
    paths.migrations(ns),
    body,
  );
  const name = created.metadata.name ?? '';
  io.out(name);
  if (!cmd.wait) return 0;

  const printer = new ChangePrinter((line) => io.out(`${name}: ${line}`));
  const deadline = io.now().getTime() + cmd.timeoutMs;
  let m = created;
  for (;;) {
    printer.show(migrationLine(m));
    const outcome = migrationOutcome(m);
    if (outcome.done && outcome.ok) return 0;
    if (outcome.done && !outcome.ok) {
      const stays = m.status?.sourceHost ? `; the desktop stays on ${m.status.sourceHost}` : '';
      throw new CliError(`migration ${name} ${outcome.phase}: ${outcome.reason}${stays}`);
    }
    if (io.now().getTime() >= deadline) {
      throw new CliError(
        `gave up waiting after ${formatDuration(cmd.timeoutMs)}: migration ${name} is ${migrationLine(m)}; it goes on ("kubectl get desktopmigration ${name} -n ${ns}" shows it)`,
      );
    }
    await io.sleep(POLL_MS);
    try {
      m = (await kube.raw('GET', paths.migration(ns, name))) as DesktopMigration;
    } catch (e) {
      if (e instanceof KubeHttpError && e.code === 404) throw new CliError(`migration ${name} was deleted before it ended (deleting a migration aborts it); the desktop stays where it was`);
      throw kube.explain(e, { verb: 'get', resource: 'desktopmigrations', kind: 'DesktopMigration', name, namespace: ns });
    }
  }
}

