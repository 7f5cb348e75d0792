import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkKube } from '../src/kube';
import { freePort } from '../src/ports';
import { run, waitFor } from '../src/process';
import type { KubeState } from '../src/state';
import { loadState } from '../src/state-file';

// A group unique to this run: reruns and parallel testbeds never see each other's CRDs.
const GROUP = `r${randomBytes(4).toString('hex')}.smoke.deskplane.io`;
const VERSION = 'v1';

function crd(plural: string, kind: string): k8s.V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  };
}

async function established(api: k8s.ApiextensionsV1Api, name: string): Promise<boolean> {
  const got = await api.readCustomResourceDefinition({ name });
  return (got.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

describe('kube-apiserver (testbed)', () => {
  let kube: KubeState;
  let kc: k8s.KubeConfig;
  let crds: k8s.ApiextensionsV1Api;
  const created: string[] = [];

  beforeAll(async () => {
    const state = loadState();
    await checkKube(state.kube); // fails fast naming kube-apiserver when it is not there
    kube = state.kube!;
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kube.kubeconfig);
    crds = kc.makeApiClient(k8s.ApiextensionsV1Api);
  });

  afterAll(async () => {
    for (const name of created) await crds.deleteCustomResourceDefinition({ name }).catch(() => undefined);
  });

  it('answers /readyz with the admin token', async () => {
    await expect(checkKube(kube)).resolves.toBeUndefined();
  });

  it('establishes a CRD applied with the built kubectl', async () => {
    const widgets = crd('widgets', 'Widget');
    const name = widgets.metadata!.name!;
    created.push(name);
    const kubectl = (...args: string[]): Promise<{ stdout: string }> =>
      run(kube.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { input: JSON.stringify(widgets), timeoutMs: 60_000 });
    const applied = await kubectl('apply', '-f', '-');
    expect(applied.stdout).toContain(`customresourcedefinition.apiextensions.k8s.io/${name} created`);
    await kubectl('wait', '--for=condition=Established', `crd/${name}`, '--timeout=60s');
    expect(await established(crds, name)).toBe(true);
  });

  it('establishes a CRD created with client-node and delivers watch events for it', async () => {
    const gadgets = crd('gadgets', 'Gadget');
    const name = gadgets.metadata!.name!;
    await crds.createCustomResourceDefinition({ body: gadgets });
    created.push(name);
    await waitFor(`CRD ${name} Established`, () => established(crds, name), { timeoutMs: 60_000, intervalMs: 200 });

    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    const target = { group: GROUP, version: VERSION, namespace: 'default', plural: 'gadgets' };
    // Right after Established the new resource's watch cache is still filling: reads get
    // 429 "storage is (re)initializing" with Retry-After (client-go retries, client-node
    // does not). Watching from the list's resourceVersion guarantees the create is delivered.
    const list = await waitFor(
      `list of ${name} objects`,
      () => objects.listNamespacedCustomObject(target) as Promise<{ metadata: { resourceVersion: string } }>,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const seen: Array<{ type: string; name?: string }> = [];
    let watchEnded: Error | undefined;
    const watch = await new k8s.Watch(kc).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/default/gadgets`,
      { resourceVersion: list.metadata.resourceVersion },
      (type, obj: { metadata?: { name?: string } }) => {
        seen.push({ type, name: obj.metadata?.name });
      },
      // Called with null on a clean close: before our event arrives, that is a failure too.
      (err: unknown) => {
        watchEnded = err instanceof Error ? err : new Error(`watch closed (${JSON.stringify(err)})`);
      },
    );
    try {
      const objName = `g-${randomBytes(3).toString('hex')}`;
      await objects.createNamespacedCustomObject({
        ...target,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Gadget', metadata: { name: objName }, spec: { size: 3 } },
      });
      await waitFor(
        `ADDED event for gadget ${objName}`,
        () => {
          if (watchEnded) throw watchEnded;
          return seen.some((e) => e.type === 'ADDED' && e.name === objName);
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      watch.abort();
    }
  });
});

describe('checkKube failure paths', () => {
  let real: KubeState;
  /** Matches this test process, so isRunning() passes and the HTTP probe is what fails. */
  let self: { pid: number; match: string; logFile: string };

  beforeAll(() => {
    real = loadState().kube!;
    const argv0 = readFileSync('/proc/self/cmdline', 'utf8').split('\0')[0] ?? '';
    self = { pid: process.pid, match: argv0, logFile: '/dev/null' };
  });

  const fake = (over: { pid?: number; url: string }): KubeState => ({
    ...real,
    apiserver: { ...self, ...(over.pid ? { pid: over.pid, match: 'kube-apiserver' } : {}), url: over.url },
    etcd: { ...real.etcd, ...self },
  });

  async function expectRejectsQuickly(state: KubeState | undefined, maxMs: number): Promise<void> {
    const started = Date.now();
    await expect(checkKube(state)).rejects.toThrow(/kube-apiserver is not available/);
    expect(Date.now() - started).toBeLessThan(maxMs);
  }

  it('rejects without state', async () => {
    await expectRejectsQuickly(undefined, 100);
  });

  it('rejects when the apiserver process is dead', async () => {
    const { stdout } = await run('sh', ['-c', 'echo $$']); // a pid that has just exited
    await expectRejectsQuickly(fake({ pid: Number(stdout.trim()), url: real.apiserver.url }), 1_000);
  });

  it('rejects when nothing listens on the url', async () => {
    await expectRejectsQuickly(fake({ url: `https://127.0.0.1:${await freePort()}` }), 3_000);
  });

  it('rejects, not hangs, when the port accepts but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      await expectRejectsQuickly(fake({ url: `https://127.0.0.1:${port}` }), 7_000);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});
