/**
 * Host drain on the testbed's real kube-apiserver: `kubectl patch` turns maintenance on,
 * the operator creates one labelled DesktopMigration per desktop on the host, and the
 * migration loop picks the other host. No agents and no workers: the test writes the
 * hosts' heartbeat status and the phase the orchestrator would write.
 */
import { randomBytes } from 'node:crypto';
import { API_VERSION, getCondition, setCondition, type DesktopMigration, type KvmHost, type VirtualDesktop } from '@deskplane/api';
import { KubernetesStore, retryOnConflict } from '@deskplane/resource-store';
import { loadState } from '@deskplane/testbed';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/log';
import { Manager } from '../src/manager';
import { RESOURCE_TYPES, type DesktopObject, type HostObject } from '../src/resources';
import { MemoryJobQueue } from '../src/testing/memory-job-queue';
import { deleteEventsAbout, emptyNamespace, kubectl, kubectlJson } from './support/kubectl';

const ROOT = join(__dirname, '../../..');
const run = randomBytes(3).toString('hex');
const ns = `op-drain-${run}`;
const src = `dr-${run}-src`;
const dst = `dr-${run}-dst`;
const state = loadState();
const poll = { timeout: 30_000, interval: 250 };

const hostYaml = (name: string, schedulable: boolean) => `apiVersion: ${API_VERSION}
kind: KvmHost
metadata:
  name: ${name}
  labels: { deskplane.io/e2e-run: "${run}" }
spec: { agentEndpoint: "127.0.0.1:1", schedulable: ${schedulable} }
`;
const desktopYaml = (name: string) => `apiVersion: ${API_VERSION}
kind: VirtualDesktop
metadata: { name: ${name} }
spec: { templateRef: { name: small }, owner: alice }
`;

describe('host drain on the testbed kube', () => {
  let store: KubernetesStore;
  let manager: Manager;

  beforeAll(async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'packages/api/crds/')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'packages/api/crds/')]);
    await kubectl(['create', 'namespace', ns]);
    store = new KubernetesStore({ kubeconfig: state.kube!.kubeconfig, instance: `op-drain-${run}` });
    manager = new Manager({
      store,
      jobs: new MemoryJobQueue(),
      probe: { getHostInfo: () => Promise.reject(new Error('no agent in this test')), close: () => undefined },
      log: createLogger({ level: process.env.OPERATOR_TEST_LOG ?? 'warn' }),
      config: {
        watchNamespace: ns,
        hostSelector: { 'deskplane.io/e2e-run': run },
        lease: { name: `deskplane-operator-${run}`, namespace: ns, durationMs: 10_000, renewDeadlineMs: 7_000, retryPeriodMs: 500 },
        identity: `drain-e2e-${process.pid}`,
        heartbeatIntervalMs: 1_000,
        heartbeatTimeoutMs: 500,
        heartbeatGraceMs: 120_000,
        unschedulableRetryMs: 1_000,
        resyncMs: 60_000,
        workers: 2,
        scheduler: { strategy: 'spread' },
      },
    });
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    await store?.close();
    await emptyNamespace(ns).catch(() => undefined);
    for (const h of [src, dst]) await kubectl(['delete', 'kvmhost', h, '--ignore-not-found']).catch(() => undefined);
    await deleteEventsAbout([src, dst]).catch(() => undefined);
  });

  it('maintenance creates one labelled migration per desktop, targeting the other host', async () => {
    const hosts = store.client<HostObject>(RESOURCE_TYPES.KvmHost);
    const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
    await kubectl(['apply', '-f', '-'], `${hostYaml(src, true)}---\n${hostYaml(dst, false)}`);
    for (const h of [src, dst]) {
      // After the operator's first word (AwaitingHeartbeat), the test heartbeats for the host.
      await vi.waitFor(async () => expect(getCondition((await hosts.get(h))?.status?.conditions, 'Ready')).toBeDefined(), poll);
      await retryOnConflict(
        hosts,
        h,
        undefined,
        (cur) => ({
          ...cur,
          status: {
            ...cur.status,
            allocatable: { vcpus: 16, memory: '32Gi', disk: '1000Gi' },
            heartbeatTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
            conditions: setCondition(cur.status?.conditions, { type: 'Ready', status: 'True', reason: 'AgentReady', message: 'written by the test' }, new Date()),
          },
        }),
        { status: true },
      );
    }
    await kubectl(['apply', '-n', ns, '-f', '-'], `apiVersion: ${API_VERSION}\nkind: DesktopTemplate\nmetadata: { name: small }\nspec: { image: debian-12, vcpus: 2, memory: 4Gi }\n---\n${desktopYaml('dr-a')}---\n${desktopYaml('dr-b')}`);
    for (const d of ['dr-a', 'dr-b']) {
      await vi.waitFor(async () => expect((await kubectlJson<VirtualDesktop>(['get', 'vd', d, '-n', ns])).status?.host).toBe(src), poll);
      // The orchestrator's word: provisioned and running.
      await retryOnConflict(desktops, d, ns, (cur) => ({ ...cur, status: { ...cur.status, phase: 'Running' as const } }), { status: true });
    }

    await kubectl(['patch', 'kvmhost', dst, '--type=merge', '-p', '{"spec":{"schedulable":true}}']);
    await kubectl(['patch', 'kvmhost', src, '--type=merge', '-p', '{"spec":{"maintenance":true}}']);

    const migrations = await vi.waitFor(async () => {
      const list = await kubectlJson<{ items: DesktopMigration[] }>(['get', 'dmig', '-n', ns, '-l', `deskplane.io/drain=${src}`]);
      expect(list.items.map((m) => [m.spec.desktopName, m.status?.phase]).sort()).toEqual([
        ['dr-a', 'PreparingTarget'],
        ['dr-b', 'PreparingTarget'],
      ]);
      return list.items;
    }, poll);
    for (const m of migrations) {
      expect(m.metadata.name).toMatch(new RegExp(`^drain-${m.spec.desktopName}-[0-9a-f]{8}$`));
      expect(m.metadata.finalizers).toEqual(['deskplane.io/migration-abort']);
      expect(m.metadata.ownerReferences).toBeUndefined();
      expect(m.status).toMatchObject({ sourceHost: src, targetHost: dst });
    }
    await vi.waitFor(async () => {
      const h = await kubectlJson<KvmHost>(['get', 'kvmhost', src]);
      expect(getCondition(h.status?.conditions, 'Drained')).toMatchObject({ status: 'False', reason: 'Draining', message: `2 desktops still on ${src}` });
    }, poll);
    const describe = await kubectl(['describe', 'kvmhost', src]);
    expect(describe).toMatch(/DrainStarted\s+.*maintenance on: moving 2 desktops off/);
  });
});
