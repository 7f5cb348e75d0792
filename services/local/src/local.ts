import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Manager, GrpcHostAgentProbe, configFromEnv as operatorConfig, createLogger, openJobQueue, openStore, RESOURCE_TYPES } from '@deskplane/desktop-operator';
import { parseConfig, startHostAgent, type RunningHostAgent } from '@deskplane/host-agent';
import { configFromEnv as orchestratorConfig, startOrchestrator, type RunningOrchestrator } from '@deskplane/orchestrator';
import { AlreadyExistsError, retryOnConflict, type KubeObject, type ResourceStore } from '@deskplane/resource-store';
import type { TestbedState } from '@deskplane/testbed';
import { DEMO_GOLDEN_IMAGE, demoDesktop, demoTemplate, localHost } from './demo';

export interface LocalOptions {
  testbed: TestbedState;
  /** Store journal, guest disks and golden images: kept across restarts. */
  dataDir: string;
  log?: (msg: string) => void;
}

export interface RunningLocal {
  store: ResourceStore;
  agents: RunningHostAgent[];
  close(): Promise<void>;
}

/**
 * Every part in one process on the embedded store (which lives in this process, so the
 * operator and the orchestrator share it): one host agent per testbed host, the operator,
 * the orchestrator, and on first start a demo template and desktop.
 */
export async function startLocal(o: LocalOptions): Promise<RunningLocal> {
  const say = o.log ?? (() => undefined);
  const { testbed, dataDir } = o;
  if (!testbed.redis || !testbed.guestImage || testbed.hosts.length === 0) {
    throw new Error('the local run needs the testbed with Redis, a guest image and at least one host ("testbed up")');
  }
  const storageDir = join(dataDir, 'storage');
  const goldenImagesDir = join(dataDir, 'images');
  prepareGoldenImages(goldenImagesDir, testbed);
  mkdirSync(storageDir, { recursive: true });

  const agents: RunningHostAgent[] = [];
  for (const h of testbed.hosts) {
    const base = parseConfig({}, { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: h.address });
    agents.push(
      await startHostAgent({
        ...base,
        hostName: h.name,
        listen: { host: '127.0.0.1', port: 0 },
        metricsListen: undefined,
        libvirtUri: h.libvirtUri,
        migrationUri: h.libvirtUri,
        storageDir,
        goldenImagesDir,
        assumeSharedStorage: true,
        logLevel: 'warn',
      }),
    );
  }

  const env = {
    DESKPLANE_OPERATOR_BACKEND: 'embedded',
    DESKPLANE_OPERATOR_DATA_DIR: join(dataDir, 'store'),
    DESKPLANE_OPERATOR_REDIS_URL: testbed.redis.url,
    DESKPLANE_OPERATOR_QUEUE_PREFIX: 'deskplane-local',
    DESKPLANE_OPERATOR_METRICS_LISTEN: 'off',
    DESKPLANE_OPERATOR_HEARTBEAT_INTERVAL_MS: '2000',
    DESKPLANE_OPERATOR_LOG_LEVEL: 'warn',
    DESKPLANE_ORCHESTRATOR_BACKEND: 'embedded',
    DESKPLANE_ORCHESTRATOR_DATA_DIR: join(dataDir, 'store'),
    DESKPLANE_ORCHESTRATOR_REDIS_URL: testbed.redis.url,
    DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: 'deskplane-local',
    DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: 'off',
    DESKPLANE_ORCHESTRATOR_LOG_LEVEL: 'warn',
    // Drift repair recreates the demo guest after a restart of the testbed; tests that
    // share hosts with other runs turn it off.
    ...(process.env.DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS ? { DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS: process.env.DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS } : {}),
  };
  const opConfig = operatorConfig(env);
  const store = openStore(opConfig.backend, 'local');
  for (const [i, a] of agents.entries()) await upsert(store, localHost(testbed.hosts[i]!.name, `127.0.0.1:${a.port}`));

  const jobs = openJobQueue(opConfig.redisUrl, opConfig.queuePrefix);
  const probe = new GrpcHostAgentProbe();
  const manager = new Manager({ store, jobs, probe, config: opConfig, log: createLogger({ level: opConfig.logLevel }) });
  await manager.start();
  const orchestrator: RunningOrchestrator = await startOrchestrator({ config: orchestratorConfig(env, 'local'), store });

  for (const obj of [demoTemplate(), demoDesktop()]) {
    const created = await createIfMissing(store, obj);
    if (created) say(`created ${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`);
  }

  return {
    store,
    agents,
    async close() {
      await orchestrator.close();
      await manager.stop();
      probe.close();
      await jobs.close();
      for (const a of agents) await a.close();
      await store.close();
    },
  };
}

function prepareGoldenImages(dir: string, tb: TestbedState): void {
  const image = tb.guestImage!;
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, `${DEMO_GOLDEN_IMAGE}.qcow2`), { force: true });
  symlinkSync(image.goldenDisk, join(dir, `${DEMO_GOLDEN_IMAGE}.qcow2`));
  writeFileSync(
    join(dir, `${DEMO_GOLDEN_IMAGE}.boot.json`),
    JSON.stringify({ kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline }, null, 2) + '\n',
  );
}

function typeOf(kind: string) {
  const t = Object.values(RESOURCE_TYPES).find((r) => r.kind === kind);
  if (!t) throw new Error(`unknown kind ${kind}`);
  return t;
}

async function createIfMissing(store: ResourceStore, obj: KubeObject): Promise<boolean> {
  try {
    await store.client(typeOf(obj.kind)).create(obj);
    return true;
  } catch (e) {
    if (e instanceof AlreadyExistsError) return false;
    throw e;
  }
}

/** Creates the object, or points the existing one's spec at the new value (agent ports change per start). */
async function upsert(store: ResourceStore, obj: KubeObject): Promise<void> {
  const client = store.client(typeOf(obj.kind));
  if (await createIfMissing(store, obj)) return;
  await retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (cur) => ({ ...cur, spec: obj.spec }));
}
