import { execFile } from 'node:child_process';
import { loadState } from '@deskplane/testbed';

/** Runs the testbed's kubectl against its kube-apiserver; rejects with stderr on failure. */
export function kubectl(args: string[], input?: string): Promise<string> {
  const { kube } = loadState();
  if (!kube) throw new Error('the testbed runs without kube-apiserver');
  return new Promise((resolve, reject) => {
    const child = execFile(kube.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/**
 * Deletes every Deskplane object (and Event) in the namespace, stripping finalizers first:
 * no controller-manager runs on the testbed, so a deleted namespace would stay Terminating.
 */
export async function emptyNamespace(ns: string): Promise<void> {
  for (const kind of ['virtualdesktops', 'desktopmigrations', 'desktoppools', 'desktoppolicies', 'desktoptemplates']) {
    const list = await kubectlJson<{ items: Array<{ metadata: { name: string; finalizers?: string[] } }> }>(['get', `${kind}.deskplane.io`, '-n', ns]).catch(() => ({ items: [] }));
    for (const o of list.items) {
      if (o.metadata.finalizers?.length) {
        await kubectl(['patch', `${kind}.deskplane.io`, o.metadata.name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']).catch(() => undefined);
      }
      await kubectl(['delete', `${kind}.deskplane.io`, o.metadata.name, '-n', ns, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    }
  }
  await kubectl(['delete', 'events.events.k8s.io', '--all', '-n', ns, '--ignore-not-found']).catch(() => undefined);
  await kubectl(['delete', 'leases.coordination.k8s.io', '--all', '-n', ns, '--ignore-not-found']).catch(() => undefined);
}

/** Deletes the Events about cluster-scoped objects (recorded in "default") with these names. */
export async function deleteEventsAbout(names: readonly string[]): Promise<void> {
  const list = await kubectlJson<{ items: Array<{ metadata: { name: string }; regarding?: { name?: string } }> }>(['get', 'events.events.k8s.io', '-n', 'default']);
  const mine = list.items.filter((e) => e.regarding?.name !== undefined && names.includes(e.regarding.name)).map((e) => e.metadata.name);
  if (mine.length) await kubectl(['delete', 'events.events.k8s.io', '-n', 'default', '--ignore-not-found', ...mine]);
}
