/**
 * Objects as an administrator, the operator or the orchestrator would write them, on any
 * store: templates, tenants with quotas, desktops of other users, and desktop status.
 */
import { API_VERSION, type DesktopPhase } from '@deskplane/api';
import { retryOnConflict, type ResourceStore } from '@deskplane/resource-store';
import { clients, type DesktopObject, type TemplateObject, type TenantObject } from '../../src/domain/resources';

type Store = Pick<ResourceStore, 'client'>;

export function addTemplate(store: Store, namespace: string, name: string, vcpus = 1, memory = '256Mi'): Promise<TemplateObject> {
  return clients(store).templates.create({ apiVersion: API_VERSION, kind: 'DesktopTemplate', metadata: { name, namespace }, spec: { image: 'busybox', vcpus, memory, disk: '1Gi' } });
}

export function addTenant(store: Store, name: string, spec: TenantObject['spec']): Promise<TenantObject> {
  return clients(store).tenants.create({ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name }, spec });
}

export function addDesktop(store: Store, namespace: string, name: string, owner: string, template: string): Promise<DesktopObject> {
  return clients(store).desktops.create({ apiVersion: API_VERSION, kind: 'VirtualDesktop', metadata: { name, namespace }, spec: { templateRef: { name: template }, owner } });
}

/** The status the orchestrator writes: phase, host and, when Running, where the console is. */
export async function setPhase(store: Store, namespace: string, name: string, phase: DesktopPhase, console?: { address: string; port: number }): Promise<DesktopObject> {
  const running = phase === 'Running';
  const out = await retryOnConflict(
    clients(store).desktops,
    name,
    namespace,
    (d) => ({
      ...d,
      status: {
        ...d.status,
        phase,
        host: 'kvm-e2e-1',
        console: running && console ? { ready: true, address: console.address, port: console.port } : { ready: false },
        conditions: [{ type: 'Ready', status: running ? ('True' as const) : ('False' as const), reason: phase, message: `${phase} on kvm-e2e-1`, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
      },
    }),
    { status: true },
  );
  if (!out) throw new Error(`desktop ${namespace}/${name} is gone`);
  return out;
}

/** What a refused request must not have changed: the desktops of a namespace, by name. */
export async function snapshot(store: Store, namespace: string): Promise<Record<string, unknown>> {
  const { items } = await clients(store).desktops.list({ namespace });
  return Object.fromEntries(items.map((d) => [d.metadata.name, { spec: d.spec, deleting: d.metadata.deletionTimestamp !== undefined, rv: d.metadata.resourceVersion }]));
}
