/**
 * The pool's writes against a claim that lands between its read and its write. The store
 * is the real embedded one; the only thing the test adds is the timing: right after the
 * pool lists its desktops, "the API" claims them through the same store.
 */
import { API_VERSION } from '@deskplane/api';
import { EmbeddedStore, Informer, type ResourceClient } from '@deskplane/resource-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deskplaneSchemas } from '../../backends';
import { createLogger } from '../../log';
import { RESOURCE_TYPES, type DesktopObject, type PoolObject, type TemplateObject } from '../../resources';
import { DesktopPoolReconciler, TENANT_TYPE, type TenantObject } from './reconciler';

const NS = 'race';
const meta = (name: string) => ({ apiVersion: API_VERSION, metadata: { name, namespace: NS } });

describe('pool writes racing a claim (embedded store)', () => {
  const store = new EmbeddedStore({ schemas: deskplaneSchemas() });
  const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const poolClient = store.client<PoolObject>(RESOURCE_TYPES.DesktopPool);
  const pools = new Informer(poolClient);
  const templates = new Informer(store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate));
  const log = createLogger({ level: 'silent' });
  let claimAfterList = false;

  /** The real client; its list() is followed at once by a claim of every unclaimed desktop. */
  const racing: ResourceClient<DesktopObject> = Object.assign(Object.create(desktops) as ResourceClient<DesktopObject>, {
    list: async (opts?: Parameters<typeof desktops.list>[0]) => {
      const result = await desktops.list(opts);
      if (claimAfterList) {
        for (const d of result.items) if (!d.spec.owner) await desktops.update({ ...d, spec: { ...d.spec, owner: 'racer', runStrategy: 'Always' } });
      }
      return result;
    },
  });
  const reconciler = new DesktopPoolReconciler({
    pools,
    templates,
    client: poolClient,
    desktopClient: racing,
    tenantClient: store.client<TenantObject>(TENANT_TYPE),
    events: { normal: () => Promise.resolve(), warning: () => Promise.resolve() },
    now: () => new Date(),
    blockedRetryMs: 1_000,
  });
  const reconcile = () => reconciler.reconcile(`${NS}/lab`, { reconcileId: 'r', retries: 0, log });
  const member = (name: string, runStrategy: 'Always' | 'Halted') =>
    desktops.create({ ...meta(name), kind: 'VirtualDesktop', metadata: { name, namespace: NS, labels: { 'deskplane.io/pool': 'lab' } }, spec: { templateRef: { name: 'small' }, poolRef: { name: 'lab' }, runStrategy } });
  const syncPool = async () => {
    const want = (await poolClient.get('lab', NS))?.metadata.resourceVersion;
    while (pools.get(`${NS}/lab`)?.metadata.resourceVersion !== want) await new Promise((r) => setTimeout(r, 5));
  };

  beforeAll(async () => {
    await store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate).create({ ...meta('small'), kind: 'DesktopTemplate', spec: { image: 'debian-12', vcpus: 1, memory: '1Gi' } });
    await Promise.all([pools.start(), templates.start()]);
  });
  afterAll(async () => {
    pools.stop();
    templates.stop();
    await store.close();
  });

  it('scale-in never deletes a desktop claimed after the pool read it', async () => {
    await member('lab-aaaaa', 'Halted');
    await member('lab-bbbbb', 'Halted');
    await poolClient.create({ ...meta('lab'), kind: 'DesktopPool', spec: { templateRef: { name: 'small' }, size: 0, warm: 0 } });
    await syncPool();
    claimAfterList = true;
    await reconcile();
    claimAfterList = false;
    const after = (await desktops.list({ namespace: NS })).items;
    expect(after.map((d) => [d.metadata.name, d.spec.owner, d.metadata.deletionTimestamp, d.metadata.annotations?.['deskplane.io/recycle']])).toEqual([
      ['lab-aaaaa', 'racer', undefined, undefined],
      ['lab-bbbbb', 'racer', undefined, undefined],
    ]);
    // Without the race the same pool does delete unclaimed desktops.
    await member('lab-ccccc', 'Halted');
    await reconcile();
    expect(await desktops.get('lab-ccccc', NS)).toBeUndefined(); // no desktop finalizer here: gone at once
    expect((await desktops.list({ namespace: NS })).items.map((d) => d.metadata.name)).toEqual(['lab-aaaaa', 'lab-bbbbb']);
  });

  it('a warm desktop claimed after the pool read it is not stopped', async () => {
    for (const d of (await desktops.list({ namespace: NS })).items) await desktops.delete(d.metadata.name, NS);
    await member('lab-ddddd', 'Always');
    await poolClient.update({ ...(await poolClient.get('lab', NS))!, spec: { templateRef: { name: 'small' }, size: 1, warm: 0 } });
    await syncPool();
    claimAfterList = true;
    await reconcile();
    claimAfterList = false;
    expect((await desktops.get('lab-ddddd', NS))?.spec).toMatchObject({ owner: 'racer', runStrategy: 'Always' });
  });
});
