/**
 * Pool set-up for the domain's unit tests: pools and pool desktops as the pool controller
 * makes them (label, poolRef, no owner), and reading a metric back from a registry.
 */
import { API_VERSION, Labels, type RunStrategy } from '@deskplane/api';
import type { ResourceStore } from '@deskplane/resource-store';
import type { Registry } from 'prom-client';
import { clients, type DesktopObject, type PoolObject } from './resources';

type Store = Pick<ResourceStore, 'client'>;

export function addPool(store: Store, namespace: string, name: string, spec: Partial<PoolObject['spec']> & { size: number }, template = 'small'): Promise<PoolObject> {
  return clients(store).pools.create({ apiVersion: API_VERSION, kind: 'DesktopPool', metadata: { name, namespace }, spec: { templateRef: { name: template }, ...spec } });
}

/** An unclaimed desktop of the pool, as its controller creates one. */
export function addPoolDesktop(
  store: Store,
  namespace: string,
  pool: string,
  name: string,
  opts: { runStrategy?: RunStrategy; annotations?: Record<string, string>; finalizer?: boolean; template?: string } = {},
): Promise<DesktopObject> {
  return clients(store).desktops.create({
    apiVersion: API_VERSION,
    kind: 'VirtualDesktop',
    metadata: {
      name,
      namespace,
      labels: { [Labels.Pool]: pool },
      ...(opts.annotations && { annotations: opts.annotations }),
      ...(opts.finalizer && { finalizers: ['deskplane.io/desktop-cleanup'] }),
    },
    spec: { templateRef: { name: opts.template ?? 'small' }, poolRef: { name: pool }, persistent: true, runStrategy: opts.runStrategy ?? 'Always' },
  });
}

/** Deletion that a finalizer holds: the desktop stays, with a deletionTimestamp. */
export async function deleteWithFinalizer(store: Store, namespace: string, name: string): Promise<void> {
  await clients(store).desktops.delete(name, namespace);
}

/** One series' value (a counter, or a histogram's `_count` / `_sum`), 0 when it has none. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const family = name.replace(/_(count|sum)$/, '');
  const metric = registry.getSingleMetric(family);
  if (!metric) throw new Error(`no metric ${family}`);
  const values = (await metric.get()).values as { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];
  const match = values.find((v) => (family === name || v.metricName === name) && Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return match?.value ?? 0;
}
