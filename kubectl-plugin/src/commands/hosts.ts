/**
 * `drain` / `undrain`: flip a KvmHost's spec.maintenance with a merge patch (only that
 * field, so a concurrent edit of anything else is never overwritten). The operator does
 * the rest: drain migrations per desktop, then the Drained condition.
 */
import type { KvmHost, VirtualDesktop } from '@deskplane/api';
import type { Command } from '../args';
import { formatDuration } from '../duration';
import { CliError, KubeHttpError } from '../errors';
import type { Io } from '../io';
import { paths, type KubeClient } from '../kube';
import { ChangePrinter, desktopsOnHost, drainLine, drainState, plural } from '../progress';

export const DRAIN_POLL_MS = 2000;

const hostCtx = (verb: string, name: string) => ({ verb, resource: 'kvmhosts', kind: 'KvmHost', name, listHint: '"kubectl get kvmhosts"' });

async function setMaintenance(kube: KubeClient, host: string, on: boolean): Promise<{ before: KvmHost; after: KvmHost }> {
  // Read first: an unknown host is a clear "not found", and the old value tells whether this changes anything.
  const before = await kube.call<KvmHost>(hostCtx('get', host), 'GET', paths.host(host));
  const after = await kube.call<KvmHost>(hostCtx('patch', host), 'PATCH', paths.host(host), { spec: { maintenance: on } }, 'application/merge-patch+json');
  return { before, after };
}

/** Desktops placed on the host, all namespaces; undefined when the caller may not list them all. */
async function countOnHost(kube: KubeClient, host: string): Promise<number | undefined> {
  try {
    const res = (await kube.raw('GET', paths.desktops())) as { items?: VirtualDesktop[] };
    return desktopsOnHost(res.items ?? [], host).length;
  } catch (e) {
    if (e instanceof KubeHttpError && e.code === 403) return undefined;
    throw kube.explain(e, { verb: 'list', resource: 'virtualdesktops', kind: 'VirtualDesktop' });
  }
}

export async function drain(kube: KubeClient, cmd: Extract<Command, { name: 'drain' }>, io: Io): Promise<number> {
  const { before, after } = await setMaintenance(kube, cmd.host, true);
  const left = await countOnHost(kube, cmd.host);
  const count = left === undefined ? 'desktops on it: unknown (you may not list desktops in all namespaces)' : `${plural(left, 'desktop')} on it`;
  const already = before.spec.maintenance === true ? 'was already' : 'is now';
  io.out(`kvmhost/${cmd.host} ${already} in maintenance: ${count}; the operator live-migrates them away`);
  if (!cmd.wait) return 0;

  const generation = after.metadata.generation;
  const printer = new ChangePrinter((line) => io.out(line));
  const deadline = io.now().getTime() + cmd.timeoutMs;
  let host = after;
  let remaining = left;
  for (;;) {
    const state = drainState(host, generation);
    printer.show(drainLine(cmd.host, remaining, state));
    if (state.drained) return 0;
    if (host.spec.maintenance !== true) throw new CliError(`maintenance of ${cmd.host} was turned off while waiting (undrain?): the drain is cancelled`);
    if (io.now().getTime() >= deadline) {
      throw new CliError(`${cmd.host} is not drained after ${formatDuration(cmd.timeoutMs)}: ${drainLine(cmd.host, remaining, state)}; the drain goes on (run again with --wait to keep watching)`);
    }
    await io.sleep(DRAIN_POLL_MS);
    host = await kube.call<KvmHost>(hostCtx('get', cmd.host), 'GET', paths.host(cmd.host));
    remaining = await countOnHost(kube, cmd.host);
  }
}

export async function undrain(kube: KubeClient, cmd: Extract<Command, { name: 'undrain' }>, io: Io): Promise<number> {
  const { before, after } = await setMaintenance(kube, cmd.host, false);
  const was = before.spec.maintenance === true ? 'is now out of maintenance' : 'was not in maintenance';
  const cordoned = after.spec.schedulable === false ? '; spec.schedulable is false, so no new desktops land there until it is true' : ': new desktops may be placed on it again';
  io.out(`kvmhost/${cmd.host} ${was}${cordoned}`);
  return 0;
}
