import { API_VERSION } from '@deskplane/api';
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

export function demoDesktop(): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualDesktop',
    metadata: { name: 'demo-desktop', namespace: DEMO_NAMESPACE },
    spec: { templateRef: { name: 'busybox' }, owner: 'demo' },
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
