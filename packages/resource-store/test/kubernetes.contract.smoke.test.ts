import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { loadState } from '@deskplane/testbed';
import { vi } from 'vitest';
import { KubernetesStore } from '../src/index';
import { describeStoreContract, GADGET } from './contract';

const gadgetCrd: k8s.V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${GADGET.plural}.${GADGET.group}` },
  spec: {
    group: GADGET.group,
    scope: 'Namespaced',
    names: { kind: GADGET.kind, plural: GADGET.plural, singular: 'gadget', listKind: 'GadgetList' },
    versions: [
      {
        name: GADGET.version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' }, color: { type: 'string' } } },
              status: { type: 'object', properties: { phase: { type: 'string' }, observedGeneration: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};

async function ensureCrd(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  try {
    await ext.createCustomResourceDefinition({ body: gadgetCrd });
  } catch (e) {
    if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
  }
  await vi.waitFor(
    async () => {
      const crd = await ext.readCustomResourceDefinition({ name: gadgetCrd.metadata!.name! });
      if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) throw new Error('CRD not established yet');
    },
    { timeout: 30_000, interval: 200 },
  );
}

describeStoreContract({
  name: 'kubernetes (real kube-apiserver)',
  async open() {
    const state = loadState();
    if (!state.kube) throw new Error('the testbed runs without kube-apiserver');
    const store = new KubernetesStore({ kubeconfig: state.kube.kubeconfig, instance: 'contract-test' });
    await ensureCrd(store.kc);
    const namespace = `contract-${randomBytes(3).toString('hex')}`;
    const core = store.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // Reads of a CRD that just became Established can answer 429 for a moment; the store retries those.
    return {
      store,
      namespace,
      cleanup: async () => {
        // No controller-manager runs on the testbed, so the namespace would stay Terminating: delete its objects instead.
        const gadgets = store.client(GADGET);
        for (const g of (await gadgets.list({ namespace })).items) {
          if (g.metadata.finalizers?.length) await gadgets.update({ ...g, metadata: { ...g.metadata, finalizers: [] } }).catch(() => undefined);
          await gadgets.delete(g.metadata.name, namespace);
        }
      },
    };
  },
  tooOldVersion: () => Promise.resolve('1'),
});
