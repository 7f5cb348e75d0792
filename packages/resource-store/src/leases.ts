import type { KubeObject, Lease, LeaseClient, ResourceClient, ResourceType } from './types';

export const LEASE_TYPE: ResourceType = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };

export interface LeaseObject extends KubeObject {
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Leases stored as coordination.k8s.io/v1 objects through any ResourceClient. */
export function leaseClientFor(client: ResourceClient<LeaseObject>): LeaseClient {
  return {
    async get(name, namespace) {
      const o = await client.get(name, namespace);
      return o ? fromObject(o) : undefined;
    },
    async create(lease) {
      return fromObject(await client.create(toObject(lease)));
    },
    async update(lease) {
      return fromObject(await client.update(toObject(lease)));
    },
  };
}

function toObject(l: Lease): LeaseObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: l.name, namespace: l.namespace, ...(l.resourceVersion ? { resourceVersion: l.resourceVersion } : {}) },
    spec: {
      ...(l.holderIdentity !== undefined ? { holderIdentity: l.holderIdentity } : {}),
      leaseDurationSeconds: l.leaseDurationSeconds,
      ...(l.acquireTime ? { acquireTime: l.acquireTime } : {}),
      ...(l.renewTime ? { renewTime: l.renewTime } : {}),
      leaseTransitions: l.leaseTransitions,
    },
  };
}

function fromObject(o: LeaseObject): Lease {
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? 'default',
    ...(o.spec.holderIdentity !== undefined ? { holderIdentity: o.spec.holderIdentity } : {}),
    leaseDurationSeconds: o.spec.leaseDurationSeconds ?? 15,
    ...(o.spec.acquireTime ? { acquireTime: o.spec.acquireTime } : {}),
    ...(o.spec.renewTime ? { renewTime: o.spec.renewTime } : {}),
    leaseTransitions: o.spec.leaseTransitions ?? 0,
    ...(o.metadata.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
  };
}
