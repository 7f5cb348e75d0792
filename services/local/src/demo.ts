import { API_VERSION, kindByName } from '@deskplane/api';
import type { KubeObject } from '@deskplane/resource-store';

/** The demo tenant's namespace and what the local run creates in it on first start. */
export const DEMO_NAMESPACE = 'demo';
export const DEMO_GOLDEN_IMAGE = 'busybox';

export function demoTemplate(): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'DesktopTemplate',
    metadata: { name: 'busybox', namespace: DEMO_NAMESPACE },
    spec: { image: DEMO_GOLDEN_IMAGE, vcpus: 1, memory: '256Mi', disk: '1Gi' },
  };
}

/** The demo user's name: owner of the demo desktop, and the IdP user (identity.ts). */
export const DEMO_USER = 'demo';

/**
 * The demo tenant as an object, once the API defines a `Tenant` kind (undefined before):
 * its scope decides where it lives, its schema's defaults fill the spec.
 */
export function demoTenant(): KubeObject | undefined {
  const def = kindByName('Tenant');
  if (!def) return undefined;
  return {
    apiVersion: API_VERSION,
    kind: 'Tenant',
    metadata: { name: DEMO_NAMESPACE, ...(def.info.namespaced && { namespace: DEMO_NAMESPACE }), labels: { 'deskplane.io/local': 'true' } },
    spec: {},
  };
}

export function demoDesktop(): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualDesktop',
    metadata: { name: 'demo-desktop', namespace: DEMO_NAMESPACE },
    spec: { templateRef: { name: 'busybox' }, owner: DEMO_USER },
  };
}

/** A KvmHost for one local host agent; the endpoint changes on every start. */
export function localHost(name: string, endpoint: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'KvmHost',
    metadata: { name, labels: { 'deskplane.io/local': 'true' } },
    spec: { agentEndpoint: endpoint },
  };
}
