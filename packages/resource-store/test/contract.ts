import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AlreadyExistsError,
  ConflictError,
  GoneError,
  Informer,
  LeaderElector,
  retryOnConflict,
  type KubeObject,
  type ResourceClient,
  type ResourceStore,
  type ResourceType,
  type WatchEvent,
} from '../src/index';

/** The test kind both backends serve (a CRD on Kubernetes, a plain type when embedded). */
export const GADGET: ResourceType = { group: 'contract.deskplane.io', version: 'v1', kind: 'Gadget', plural: 'gadgets', namespaced: true };

export interface Gadget extends KubeObject {
  spec: { size: number; color?: string };
  status?: { phase?: string; observedGeneration?: number };
}

export interface ContractBackend {
  name: string;
  /** A store plus a namespace nobody else uses. */
  open(): Promise<{ store: ResourceStore; namespace: string; cleanup: () => Promise<void> }>;
  /** A watch resourceVersion the backend no longer serves (410). */
  tooOldVersion(): Promise<string>;
}

const gadget = (name: string, namespace: string, size = 1, labels?: Record<string, string>): Gadget => ({
  apiVersion: `${GADGET.group}/${GADGET.version}`,
  kind: GADGET.kind,
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  spec: { size },
});

const unique = (p: string): string => `${p}-${randomBytes(3).toString('hex')}`;

/** One contract, run against every backend: the semantics the operator relies on. */
export function describeStoreContract(backend: ContractBackend): void {
  describe(`resource store contract: ${backend.name}`, () => {
    let store: ResourceStore;
    let ns: string;
    let gadgets: ResourceClient<Gadget>;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ store, namespace: ns, cleanup } = await backend.open());
      gadgets = store.client<Gadget>(GADGET);
    });
    afterAll(async () => {
      await cleanup?.();
      await store?.close();
    });

    it('creates with server-set metadata and ignores status on create', async () => {
      const created = await gadgets.create({ ...gadget(unique('g'), ns), status: { phase: 'Fake' } });
      expect(created.metadata).toMatchObject({ namespace: ns, generation: 1 });
      expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata.resourceVersion).toBeTruthy();
      expect(created.metadata.creationTimestamp).toBeTruthy();
      expect(created.status).toBeUndefined();
      expect(await gadgets.get(created.metadata.name, ns)).toEqual(created);
      await expect(gadgets.create(gadget(created.metadata.name, ns))).rejects.toBeInstanceOf(AlreadyExistsError);
    });

    it('bumps generation on spec changes only, and keeps status out of update', async () => {
      const g = await gadgets.create(gadget(unique('g'), ns));
      const labelled = await gadgets.update({ ...g, metadata: { ...g.metadata, labels: { a: 'b' } } });
      expect(labelled.metadata.generation).toBe(1);
      const resized = await gadgets.update({ ...labelled, spec: { size: 2 }, status: { phase: 'Ignored' } });
      expect(resized.metadata.generation).toBe(2);
      expect(resized.status).toBeUndefined();
      const withStatus = await gadgets.updateStatus({ ...resized, spec: { size: 99 }, status: { phase: 'Ready', observedGeneration: 2 } });
      expect(withStatus.status).toEqual({ phase: 'Ready', observedGeneration: 2 });
      expect(withStatus.spec).toEqual({ size: 2 });
      expect(withStatus.metadata.generation).toBe(2);
    });

    it('refuses a stale resourceVersion, and retryOnConflict keeps both racing changes', async () => {
      const g = await gadgets.create(gadget(unique('g'), ns));
      await gadgets.update({ ...g, spec: { size: 5 } });
      await expect(gadgets.update({ ...g, spec: { size: 6 } })).rejects.toBeInstanceOf(ConflictError);
      await expect(gadgets.updateStatus({ ...g, status: { phase: 'X' } })).rejects.toBeInstanceOf(ConflictError);
      const name = g.metadata.name;
      await Promise.all(
        ['red', 'green', 'blue', 'black'].map((c) =>
          retryOnConflict(gadgets, name, ns, (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, [c]: 'yes' } } })),
        ),
      );
      const final = await gadgets.get(name, ns);
      expect(Object.keys(final!.metadata.labels ?? {}).sort()).toEqual(['black', 'blue', 'green', 'red']);
      expect(final!.spec.size).toBe(5);
    });

    it('holds deletion on finalizers and deletes when the last one goes', async () => {
      const g = await gadgets.create({ ...gadget(unique('g'), ns), metadata: { ...gadget('x', ns).metadata, name: unique('fin'), finalizers: ['contract.deskplane.io/cleanup'] } });
      expect(await gadgets.delete(g.metadata.name, ns)).toBe(true);
      const marked = await gadgets.get(g.metadata.name, ns);
      expect(marked?.metadata.deletionTimestamp).toBeTruthy();
      await expect(gadgets.update({ ...marked!, metadata: { ...marked!.metadata, finalizers: ['a', 'contract.deskplane.io/cleanup'] } })).rejects.toThrow(/finalizer/i);
      await gadgets.update({ ...marked!, metadata: { ...marked!.metadata, finalizers: [] } });
      await vi.waitFor(async () => expect(await gadgets.get(g.metadata.name, ns)).toBeUndefined());
      expect(await gadgets.delete(g.metadata.name, ns)).toBe(false);
    });

    it('lists by namespace and label selector', async () => {
      const tag = unique('t');
      await gadgets.create(gadget(unique('l'), ns, 1, { tag }));
      await gadgets.create(gadget(unique('l'), ns, 1, { tag }));
      await gadgets.create(gadget(unique('l'), ns, 1, { tag: 'other' }));
      const { items, resourceVersion } = await gadgets.list({ namespace: ns, labelSelector: { tag } });
      expect(items).toHaveLength(2);
      expect(items.every((i) => i.kind === 'Gadget' && i.apiVersion === 'contract.deskplane.io/v1')).toBe(true);
      expect(resourceVersion).toBeTruthy();
    });

    it('watches from a list version and resumes from the last version seen without missing anything', async () => {
      const tag = unique('w');
      const { resourceVersion } = await gadgets.list({ namespace: ns, labelSelector: { tag } });
      const seen: Array<WatchEvent<Gadget>> = [];
      const h1 = gadgets.watch({ namespace: ns, labelSelector: { tag }, resourceVersion }, (e) => seen.push(e), () => undefined);
      const a = await gadgets.create(gadget(unique('a'), ns, 1, { tag }));
      await vi.waitFor(() => expect(seen).toHaveLength(1));
      h1.stop(); // the connection drops here
      const last = seen.at(-1)!.object.metadata.resourceVersion!;
      const a2 = await gadgets.update({ ...a, spec: { size: 2 } });
      const b = await gadgets.create(gadget(unique('b'), ns, 1, { tag }));
      await gadgets.delete(a2.metadata.name, ns);
      const h2 = gadgets.watch({ namespace: ns, labelSelector: { tag }, resourceVersion: last }, (e) => seen.push(e), () => undefined);
      await vi.waitFor(() => expect(seen).toHaveLength(4));
      h2.stop();
      expect(seen.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
        `ADDED ${a.metadata.name}`,
        `MODIFIED ${a.metadata.name}`,
        `ADDED ${b.metadata.name}`,
        `DELETED ${a.metadata.name}`,
      ]);
    });

    it('ends a watch from a version that is too old with 410 Gone', async () => {
      const ended = await new Promise<Error | undefined>((resolve) => {
        void backend.tooOldVersion().then((rv) => gadgets.watch({ namespace: ns, resourceVersion: rv }, () => undefined, resolve));
      });
      expect(ended).toBeInstanceOf(GoneError);
    });

    it('keeps an informer whole across watches the server ends', async () => {
      const tag = unique('i');
      const seen: string[] = [];
      const informer = new Informer(gadgets, { namespace: ns, watchTimeoutSeconds: 1, minBackoffMs: 50 }).on({
        add: (o) => o.metadata.labels?.tag === tag && seen.push(`add ${o.metadata.name} ${o.spec.size}`),
        update: (old, o) => o.metadata.labels?.tag === tag && old.metadata.resourceVersion !== o.metadata.resourceVersion && seen.push(`update ${o.metadata.name} ${o.spec.size}`),
        delete: (o) => o.metadata.labels?.tag === tag && seen.push(`delete ${o.metadata.name}`),
      });
      await informer.start();
      const expected: string[] = [];
      let g = await gadgets.create(gadget(unique('inf'), ns, 0, { tag }));
      expected.push(`add ${g.metadata.name} 0`);
      for (let size = 1; size <= 4; size++) {
        await new Promise((r) => setTimeout(r, 700)); // spans several server-side watch ends
        g = await gadgets.update({ ...g, spec: { size } });
        expected.push(`update ${g.metadata.name} ${size}`);
      }
      await gadgets.delete(g.metadata.name, ns);
      expected.push(`delete ${g.metadata.name}`);
      await vi.waitFor(() => expect(seen).toEqual(expected), { timeout: 10_000 });
      expect(informer.watchStarts).toBeGreaterThan(1);
      expect(informer.get(g.metadata.name, ns)).toBeUndefined();
      informer.stop();
    });

    it('records Events and counts repeats instead of duplicating them', async () => {
      const g = await gadgets.create(gadget(unique('ev'), ns));
      await store.events.record(g, 'Warning', 'Unschedulable', '0/2 hosts available: 2 insufficient memory');
      await store.events.record(g, 'Warning', 'Unschedulable', '0/2 hosts available: 2 insufficient memory');
      await store.events.record(g, 'Normal', 'Scheduled', 'placed on host-1');
      const events = await store.events.list(g);
      expect(events).toEqual([
        { type: 'Warning', reason: 'Unschedulable', message: '0/2 hosts available: 2 insufficient memory', count: 2 },
        { type: 'Normal', reason: 'Scheduled', message: 'placed on host-1', count: 1 },
      ]);
    });

    it('elects exactly one leader, and a released lease passes to the other candidate', async () => {
      const name = unique('lease');
      const leading = new Set<string>();
      const make = (id: string): LeaderElector =>
        new LeaderElector(store.leases, {
          name,
          namespace: ns,
          identity: id,
          leaseDurationMs: 3_000,
          renewDeadlineMs: 2_000,
          retryPeriodMs: 200,
          onStartedLeading: () => leading.add(id),
          onStoppedLeading: () => leading.delete(id),
        });
      const [a, b] = [make('a'), make('b')];
      a.start();
      b.start();
      await vi.waitFor(() => expect(leading.size).toBe(1), { timeout: 5_000 });
      await new Promise((r) => setTimeout(r, 800));
      expect(leading.size).toBe(1); // renewals keep it, nobody else gets it
      const [first] = [...leading];
      const [leader, other] = first === 'a' ? [a, b] : [b, a];
      await leader.stop();
      await vi.waitFor(() => expect([...leading]).toEqual([first === 'a' ? 'b' : 'a']), { timeout: 5_000 });
      await other.stop();
    });
  });
}
