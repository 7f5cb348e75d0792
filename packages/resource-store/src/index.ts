/**
 * One resource-access interface, two backends with the same semantics.
 *
 * @example
 * import { EmbeddedStore, Informer } from '@deskplane/resource-store';
 * const store = new EmbeddedStore({ dir: '/var/lib/deskplane/store' });
 * const desktops = store.client({ group: 'deskplane.io', version: 'v1alpha1', kind: 'VirtualDesktop', plural: 'virtualdesktops', namespaced: true });
 * const informer = new Informer(desktops, { resyncMs: 60_000 }).on({ add: (vd) => console.log('new desktop', vd.metadata.name) });
 * await informer.start();
 */
export * from './types';
export * from './errors';
export { EmbeddedStore, type EmbeddedStoreOptions, type TypeSchema } from './embedded-store';
export { KubernetesStore, type KubernetesStoreOptions } from './kubernetes-store';
export { Informer, type InformerHandlers, type InformerOptions } from './informer';
export { LeaderElector, type LeaderElectionOptions } from './leader-election';
export { EVENT_TYPE, type EventObject } from './events';
export { LEASE_TYPE, type LeaseObject } from './leases';
export { typeKey } from './object-rules';
export { retryOnConflict } from './retry';
