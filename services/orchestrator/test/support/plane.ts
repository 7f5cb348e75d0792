/**
 * The control plane on the testbed for the orchestrator's e2e suites: CRDs, a unique
 * namespace, two real host agents on the testbed's libvirtd hosts registered as KvmHosts
 * (labelled for this run), and the desktop operator's Manager in-process (HOST_SELECTOR /
 * WATCH_NAMESPACE isolation). The orchestrator itself is started by each suite (in-process
 * or as a separate process). Reuses the operator's and the host agent's test support.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getCondition, type KvmHost } from '@deskplane/api';
import { GrpcHostAgentProbe, Manager, createLogger as operatorLogger } from '@deskplane/desktop-operator';
import type { RunningHostAgent } from '@deskplane/host-agent';
import { BullJobQueue, QUEUES } from '@deskplane/queue-contracts';
import { KubernetesStore } from '@deskplane/resource-store';
import { loadState } from '@deskplane/testbed';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { vi, expect } from 'vitest';
import { startTestAgent } from '../../../../operators/desktop-operator/test/support/agents';
import { deleteEventsAbout, emptyNamespace, kubectl, kubectlJson } from '../../../../operators/desktop-operator/test/support/kubectl';
import { testManagerConfig } from '../../../../operators/desktop-operator/test/support/manager-config';
import { testbedHosts, type TestbedHosts } from '../../../../services/host-agent/test/support/testbed-hosts';

export { kubectl, kubectlJson };
export const ROOT = join(__dirname, '../../../..');

export interface Plane {
  run: string;
  ns: string;
  prefix: string;
  redis: { host: string; port: number };
  redisUrl: string;
  kubeconfig: string;
  tb: TestbedHosts;
  /** KvmHost names, index-aligned with tb.hosts. */
  hostNames: string[];
  agents: RunningHostAgent[];
  store: KubernetesStore;
  manager: Manager;
  /** libvirt URI of a KvmHost by name. */
  uriOf(host: string): string;
  close(): Promise<void>;
}

export async function startPlane(tag: string): Promise<Plane> {
  const state = loadState();
  const run = randomBytes(3).toString('hex');
  const ns = `${tag}-${run}`;
  const prefix = `${tag}-${run}`;
  const redis = { host: state.redis!.host, port: state.redis!.port };
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'packages/api/crds/')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'packages/api/crds/')]);
  await kubectl(['create', 'namespace', ns]);

  const tb = testbedHosts();
  if (tb.hosts.length < 2) throw new Error('the orchestrator e2e needs two testbed hosts ("testbed up --hosts 2")');
  const agents: RunningHostAgent[] = [];
  for (const h of tb.hosts.slice(0, 2)) agents.push(await startTestAgent(tb, h));
  const hostNames = [`${tag}-${run}-kvm-1`, `${tag}-${run}-kvm-2`];
  const hostsYaml = hostNames
    .map((name, i) => `apiVersion: deskplane.io/v1alpha1\nkind: KvmHost\nmetadata:\n  name: ${name}\n  labels:\n    deskplane.io/e2e-run: "${run}"\nspec:\n  agentEndpoint: 127.0.0.1:${agents[i]!.port}\n`)
    .join('---\n');
  await kubectl(['apply', '-f', '-'], hostsYaml);

  const store = new KubernetesStore({ kubeconfig: state.kube!.kubeconfig, instance: `${tag}-${run}` });
  const jobs = new BullJobQueue(redis, prefix);
  const probe = new GrpcHostAgentProbe();
  const manager = new Manager({
    store,
    jobs,
    probe,
    log: operatorLogger({ level: process.env.OPERATOR_TEST_LOG ?? 'warn' }),
    config: testManagerConfig({ namespace: ns, hostSelector: { 'deskplane.io/e2e-run': run }, run, identity: `${tag}-${process.pid}`, metrics: undefined }),
  });
  await manager.start();
  for (const name of hostNames) {
    await vi.waitFor(async () => {
      const o = await kubectlJson<KvmHost>(['get', 'kvmhost', name]);
      expect(getCondition(o.status?.conditions, 'Ready')?.status).toBe('True');
    }, { timeout: 60_000, interval: 250 });
  }

  const uriOf = (host: string): string => tb.hosts[hostNames.indexOf(host)]!.host.libvirtUri;
  return {
    run,
    ns,
    prefix,
    redis,
    redisUrl: `redis://${redis.host}:${redis.port}`,
    kubeconfig: state.kube!.kubeconfig,
    tb,
    hostNames,
    agents,
    store,
    manager,
    uriOf,
    async close() {
      await manager.stop().catch(() => undefined);
      await emptyNamespace(ns).catch(() => undefined);
      await kubectl(['delete', 'secrets', '--all', '-n', ns, '--ignore-not-found']).catch(() => undefined);
      for (const h of hostNames) await kubectl(['delete', 'kvmhost', h, '--ignore-not-found']).catch(() => undefined);
      await deleteEventsAbout(hostNames).catch(() => undefined);
      for (const q of Object.values(QUEUES)) {
        const queue = new Queue(q, { connection: redis, prefix });
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
      // The orchestrator's own keys (drift first-seen times, slot leases) under this run's prefix.
      const r = new Redis({ ...redis, maxRetriesPerRequest: null });
      const keys = await r.keys(`${prefix}:orchestrator:*`).catch(() => []);
      if (keys.length) await r.del(...keys).catch(() => undefined);
      r.disconnect();
      await jobs.close();
      await store.close();
      probe.close();
      for (const a of agents) await a.close();
      await tb.cleanup();
    },
  };
}

export function virsh(uri: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-q', '-c', uri, ...args], { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`virsh ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** Domain names on a host: `virsh list --name` (running) or with `--all`. */
export async function domains(uri: string, all = false): Promise<string[]> {
  return (await virsh(uri, ['list', '--name', ...(all ? ['--all'] : [])])).split('\n').map((s) => s.trim()).filter(Boolean);
}

/** Files of this desktop (disk overlay, serial log) in the shared storage dir. */
export const filesOf = (storageDir: string, uid: string): string[] => readdirSync(storageDir).filter((f) => f.includes(uid));

export async function secretPassword(ns: string, desktop: string): Promise<string> {
  const s = await kubectlJson<{ data: { password: string } }>(['get', 'secret', `${desktop}-console`, '-n', ns]);
  return Buffer.from(s.data.password, 'base64').toString('utf8');
}

export const templateYaml = (name: string, image = 'busybox'): string =>
  `apiVersion: deskplane.io/v1alpha1\nkind: DesktopTemplate\nmetadata: {name: ${name}}\nspec: {image: ${image}, vcpus: 1, memory: 256Mi, disk: 1Gi}\n`;
export const desktopYaml = (name: string, template: string): string =>
  `apiVersion: deskplane.io/v1alpha1\nkind: VirtualDesktop\nmetadata: {name: ${name}}\nspec: {templateRef: {name: ${template}}, owner: alice}\n`;
export const migrationYaml = (name: string, desktop: string, target: string, policy = ''): string =>
  `apiVersion: deskplane.io/v1alpha1\nkind: DesktopMigration\nmetadata: {name: ${name}}\nspec: {desktopName: ${desktop}, targetHost: ${target}${policy ? `, policy: ${policy}` : ''}}\n`;
