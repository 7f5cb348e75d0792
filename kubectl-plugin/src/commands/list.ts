/** `kubectl desktop list`: the namespace's VirtualDesktops (or every namespace's with -A). */
import type { VirtualDesktop } from '@deskplane/api';
import type { Command } from '../args';
import type { Io } from '../io';
import { paths, type KubeClient } from '../kube';
import { desktopJson, desktopNames, desktopTable } from '../table';

export async function list(kube: KubeClient, cmd: Extract<Command, { name: 'list' }>, io: Io): Promise<number> {
  const namespace = cmd.allNamespaces ? undefined : kube.namespace;
  const res = await kube.call<{ items?: VirtualDesktop[] }>(
    { verb: 'list', resource: 'virtualdesktops', kind: 'VirtualDesktop', ...(namespace !== undefined ? { namespace } : {}) },
    'GET',
    paths.desktops(namespace),
  );
  const items = res.items ?? [];
  if (cmd.output === 'json') {
    io.out(desktopJson(items));
    return 0;
  }
  if (items.length === 0) {
    // As kubectl: the note goes to stderr so scripts reading stdout see nothing.
    io.err(namespace !== undefined ? `No resources found in ${namespace} namespace.` : 'No resources found');
    return 0;
  }
  if (cmd.output === 'name') io.out(desktopNames(items));
  else io.out(desktopTable(items, { wide: cmd.output === 'wide', allNamespaces: namespace === undefined, now: io.now() }));
  return 0;
}
