/**
 * The consolidation task on the embedded store: real informers, real Events, real
 * DesktopMigration objects. Presence comes from `presenceStandIn`, a stand-in for the
 * gateway's Redis presence (its reader has its own tests against Redis); no manager runs,
 * so migrations stay as the task made them unless a test moves them on.
 */
import { API_VERSION, type KvmHost } from '@deskplane/api';
import { EmbeddedStore, Informer, type KubeObject } from '@deskplane/resource-store';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deskplaneSchemas } from '../backends';
import type { EventSink } from '../controllers/shared/context';
import { createLogger } from '../log';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject, type PoolObject, type PolicyObject, type TemplateObject } from '../resources';
import type { OperatorView } from '../runtime/periodic';
import { RedisPresenceReader } from '../activity';
import { consolidationTask, type ConsolidationTaskOptions, type PresenceBatchReader } from './task';

const NS = 'team-a';
const T0 = new Date('2026-03-02T09:00:00Z');
const meta = (name: string, namespace?: string) => ({ apiVersion: API_VERSION, metadata: { name, ...(namespace ? { namespace } : {}) } });

/** Stand-in for the Redis presence reader: open sessions per `ns/name`; `fail` makes a read throw. */
function presenceStandIn(open: Record<string, number> = {}, fail: string[] = []) {
  const calls: string[] = [];
  const read = (ns: string, name: string) => {
    const key = `${ns}/${name}`;
    calls.push(key);
    if (fail.includes(key)) return Promise.reject(new Error('redis: connection refused'));
    return Promise.resolve({ open: open[key] ?? 0 });
  };
  return { read, calls };
}

describe('consolidation task (embedded store)', () => {
  let store: EmbeddedStore;
  let view: OperatorView;
  let informers: Array<Informer<KubeObject>>;
  let logLines: Array<Record<string, unknown>>;
  const registry = () => new Registry();

  const hosts = () => store.client<HostObject>(RESOURCE_TYPES.KvmHost);
  const desktops = () => store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const migrations = () => store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration);

  async function place(name: string, host: string): Promise<void> {
    const d = await desktops().create({ ...meta(name, NS), kind: 'VirtualDesktop', spec: { templateRef: { name: 'small' }, owner: `user-${name}` } });
    await desktops().updateStatus({ ...d, status: { phase: 'Running', host } });
  }

  async function moveTo(name: string, host: string): Promise<void> {
    const d = (await desktops().get(name, NS))!;
    await desktops().updateStatus({ ...d, status: { ...d.status, host } });
    await vi.waitFor(() => expect(view.desktops.get(name, NS)?.status?.host).toBe(host));
  }

  beforeEach(async () => {
    store = new EmbeddedStore({ schemas: deskplaneSchemas() });
    const stamp = T0.toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const name of ['h1', 'h2', 'h3']) {
      const h = await hosts().create({ ...meta(name), kind: 'KvmHost', spec: { agentEndpoint: `${name}:7443` } });
      const status: KvmHost['status'] = {
        allocatable: { vcpus: 8, memory: '16Gi', disk: '500Gi' },
        heartbeatTime: stamp,
        conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: '', lastTransitionTime: stamp }],
      };
      await hosts().updateStatus({ ...h, status });
    }
    await store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate).create({ ...meta('small', NS), kind: 'DesktopTemplate', spec: { image: 'debian-12', vcpus: 2, memory: '4Gi', disk: '40Gi' } });
    // h1 holds 4 of 8 vCPUs; h2 and h3 one 2-vCPU desktop each: both fit on h1.
    await place('a', 'h1');
    await place('b', 'h1');
    await place('c', 'h2');
    await place('d', 'h3');

    const mk = <T extends KubeObject>(t: (typeof RESOURCE_TYPES)[keyof typeof RESOURCE_TYPES]) => new Informer<T>(store.client<T>(t), { resyncMs: 0 });
    const v = {
      hosts: mk<HostObject>(RESOURCE_TYPES.KvmHost),
      desktops: mk<DesktopObject>(RESOURCE_TYPES.VirtualDesktop),
      templates: mk<TemplateObject>(RESOURCE_TYPES.DesktopTemplate),
      migrations: mk<MigrationObject>(RESOURCE_TYPES.DesktopMigration),
      policies: mk<PolicyObject>(RESOURCE_TYPES.DesktopPolicy),
      pools: mk<PoolObject>(RESOURCE_TYPES.DesktopPool),
    };
    informers = Object.values(v);
    await Promise.all(informers.map((i) => i.start()));
    const events: EventSink = {
      normal: (o, r, m) => store.events.record(o, 'Normal', r, m),
      warning: (o, r, m) => store.events.record(o, 'Warning', r, m),
    };
    logLines = [];
    const log = createLogger({ level: 'info' }, { write: (s: string) => void logLines.push(JSON.parse(s) as Record<string, unknown>) });
    view = { ...v, store, events, now: () => T0, log };
  });

  afterEach(async () => {
    for (const i of informers) i.stop();
    await store.close();
  });

  const task = (o: Partial<ConsolidationTaskOptions> & { mode: 'off' | 'dry-run' | 'on'; maxMigrations?: number }) =>
    consolidationTask({ config: { mode: o.mode, intervalMs: 60_000, maxMigrations: o.maxMigrations ?? 2 }, presence: presenceStandIn().read, ...o });
  const eventsOf = async (kind: string, name: string, namespace?: string) =>
    store.events.list({ kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
  const gauge = async (r: Registry, name: string) => (await r.getSingleMetric(name)!.get()).values[0]?.value;

  it('off: reads nothing and does nothing', async () => {
    const presence = presenceStandIn();
    await task({ mode: 'off', presence: presence.read }).run(view, new AbortController().signal);
    expect(presence.calls).toEqual([]);
    expect((await migrations().list()).items).toEqual([]);
    expect(await eventsOf('VirtualDesktop', 'c', NS)).toEqual([]);
    expect(logLines).toEqual([]);
  });

  it('dry-run: Events for every planned move and emptied host, the plan in one log line, gauges; no migration', async () => {
    const r = registry();
    const presence = presenceStandIn();
    await task({ mode: 'dry-run', presence: presence.read, registry: r }).run(view, new AbortController().signal);
    expect(presence.calls.sort()).toEqual(['team-a/a', 'team-a/b', 'team-a/c', 'team-a/d']);
    expect((await migrations().list()).items).toEqual([]);
    expect(await eventsOf('VirtualDesktop', 'c', NS)).toEqual([{ type: 'Normal', reason: 'ConsolidationPlanned', message: 'would move from h2 to h1 to empty h2', count: 1 }]);
    expect(await eventsOf('VirtualDesktop', 'd', NS)).toEqual([{ type: 'Normal', reason: 'ConsolidationPlanned', message: 'would move from h3 to h1 to empty h3', count: 1 }]);
    expect(await eventsOf('KvmHost', 'h2')).toEqual([{ type: 'Normal', reason: 'ConsolidationPlanned', message: 'would empty h2: 1 idle desktop(s) to h1', count: 1 }]);
    expect(await eventsOf('VirtualDesktop', 'a', NS)).toEqual([]);
    expect(await gauge(r, 'deskplane_consolidation_planned_moves')).toBe(2);
    expect(await gauge(r, 'deskplane_consolidation_hosts_emptiable')).toBe(2);
    const line = logLines.find((l) => l.task === 'consolidation')!;
    expect(line).toMatchObject({ mode: 'dry-run', emptied: ['h2', 'h3'], moves: [{ desktop: 'team-a/c', from: 'h2', to: 'h1' }, { desktop: 'team-a/d', from: 'h3', to: 'h1' }] });
    expect(line.msg).toMatch(/^consolidation plan: empties 2 hosts \(h2, h3\)/);
  });

  it('a desktop with a session, or whose presence cannot be read, keeps its host', async () => {
    const presence = presenceStandIn({ 'team-a/c': 1 }, ['team-a/d']);
    const r = registry();
    await task({ mode: 'dry-run', presence: presence.read, registry: r }).run(view, new AbortController().signal);
    expect(await eventsOf('VirtualDesktop', 'c', NS)).toEqual([]);
    expect(await eventsOf('VirtualDesktop', 'd', NS)).toEqual([]);
    // Hosts with busy desktops still take idle ones: h1's two go to h2 (best fit of two equal hosts: by name).
    const line = logLines.find((l) => l.task === 'consolidation')!;
    expect(line.moves).toEqual([{ desktop: 'team-a/a', from: 'h1', to: 'h2' }, { desktop: 'team-a/b', from: 'h1', to: 'h2' }]);
    expect(await gauge(r, 'deskplane_consolidation_planned_moves')).toBe(2);
    expect(line.leftAlone).toEqual(
      expect.arrayContaining([
        { host: 'h2', reason: 'Busy', detail: '1 of 1 desktops in use: team-a/c (session open)' },
        { host: 'h3', reason: 'Busy', detail: '1 of 1 desktops in use: team-a/d (activity unknown)' },
      ]),
    );
    expect(logLines.some((l) => l.desktop === 'team-a/d' && l.err === 'redis: connection refused')).toBe(true);
  });

  it('a batch presence reader: one read per pass; no gateway writing presence means every desktop is busy', async () => {
    const reads: string[][] = [];
    const batch = (watching: boolean) => ({
      read: (keys: readonly string[]) => {
        reads.push([...keys].sort());
        const desktops = new Map(keys.map((k) => [k, { open: k === 'team-a/c' ? 1 : 0 }]));
        return Promise.resolve(watching ? { watchingSince: T0.getTime() - 60_000, desktops } : { desktops });
      },
    });
    const r = registry();
    await task({ mode: 'dry-run', presence: batch(true), registry: r }).run(view, new AbortController().signal);
    expect(reads).toEqual([['team-a/a', 'team-a/b', 'team-a/c', 'team-a/d']]);
    expect(logLines.find((l) => l.task === 'consolidation')?.moves).toEqual([{ desktop: 'team-a/d', from: 'h3', to: 'h1' }]);
    await task({ mode: 'dry-run', presence: batch(false), registry: r }).run(view, new AbortController().signal);
    expect(await gauge(r, 'deskplane_consolidation_planned_moves')).toBe(0);
    expect(logLines.some((l) => l.msg === 'consolidation: no gateway writes presence; every desktop counts as busy')).toBe(true);
    // The activity module's Redis reader is such a batch reader (type-checked here); a failed read means busy.
    const discarded: PresenceBatchReader = new RedisPresenceReader({ pipeline: () => ({ exec: () => Promise.resolve(null) }) });
    await task({ mode: 'dry-run', presence: discarded, registry: r }).run(view, new AbortController().signal);
    expect(await gauge(r, 'deskplane_consolidation_planned_moves')).toBe(0);
    expect(logLines.some((l) => l.err === 'presence read: pipeline discarded')).toBe(true);
  });

  it('on: creates labelled migrations within maxMigrations minus those in flight, then says when a host is empty', async () => {
    const r = registry();
    const h2Version = (await hosts().get('h2'))?.metadata.resourceVersion;
    const t = task({ mode: 'on', maxMigrations: 1, registry: r });
    await t.run(view, new AbortController().signal);
    const first = (await migrations().list()).items;
    expect(first).toHaveLength(1);
    const m = first[0]!;
    expect(m.metadata.labels).toEqual({ 'deskplane.io/reason': 'consolidation' });
    expect(m.metadata.name).toMatch(/^consolidate-c-[0-9a-f]{8}$/);
    // The schema's defaults (postCopy: false) are filled in by the store.
    expect(m.spec).toMatchObject({ desktopName: 'c', targetHost: 'h1', policy: { bandwidthMiBps: 256, autoConverge: true, completionTimeoutSeconds: 600 } });
    expect(await eventsOf('VirtualDesktop', 'c', NS)).toEqual([
      { type: 'Normal', reason: 'ConsolidationStarted', message: `moving from h2 to h1 to empty h2 (DesktopMigration ${m.metadata.name})`, count: 1 },
    ]);
    expect(await eventsOf('KvmHost', 'h2')).toEqual([{ type: 'Normal', reason: 'ConsolidationStarted', message: 'emptying h2: 1 migration(s) started', count: 1 }]);
    expect(await gauge(r, 'deskplane_consolidation_migrations_created_total')).toBe(1);

    // While it is in flight the budget (1) is used up: the next pass creates nothing.
    await vi.waitFor(() => expect(view.migrations.list()).toHaveLength(1));
    await t.run(view, new AbortController().signal);
    expect((await migrations().list()).items).toHaveLength(1);
    expect(await gauge(r, 'deskplane_consolidation_planned_moves')).toBe(1); // d's move, deferred

    // The "orchestrator" finishes it: c is on h1, h2 is empty; the next pass moves d and announces h2.
    await moveTo('c', 'h1');
    await migrations().updateStatus({ ...m, status: { phase: 'Succeeded', sourceHost: 'h2', targetHost: 'h1' } });
    await vi.waitFor(() => expect(view.migrations.list()[0]?.status?.phase).toBe('Succeeded'));
    await t.run(view, new AbortController().signal);
    const all = (await migrations().list()).items;
    expect(all.map((x) => [x.spec.desktopName, x.spec.targetHost]).sort()).toEqual([['c', 'h1'], ['d', 'h1']]);
    expect(await eventsOf('KvmHost', 'h2')).toContainEqual({
      type: 'Normal',
      reason: 'ConsolidationHostEmpty',
      message: 'no desktop left on h2 after consolidation: it can be put in maintenance (spec.maintenance: true) or powered off',
      count: 1,
    });
    // Told once, not every pass; and the host itself is never written.
    await t.run(view, new AbortController().signal);
    expect((await eventsOf('KvmHost', 'h2')).filter((e) => e.reason === 'ConsolidationHostEmpty')).toHaveLength(1);
    expect((await hosts().get('h2'))?.metadata.resourceVersion).toBe(h2Version);
  });

  it('on: never touches a host in maintenance', async () => {
    const h3 = (await hosts().get('h3'))!;
    await hosts().update({ ...h3, spec: { ...h3.spec, maintenance: true } });
    await vi.waitFor(() => expect(view.hosts.get('h3')?.spec.maintenance).toBe(true));
    await task({ mode: 'on', maxMigrations: 5 }).run(view, new AbortController().signal);
    const made = (await migrations().list()).items;
    expect(made.map((x) => x.spec.desktopName)).toEqual(['c']);
    expect(made.every((x) => x.spec.targetHost !== 'h3')).toBe(true);
  });

  it('a pass aborted while reading presence plans nothing', async () => {
    const ac = new AbortController();
    const presence = (ns: string, name: string) => {
      ac.abort();
      return presenceStandIn().read(ns, name);
    };
    await task({ mode: 'on', presence }).run(view, ac.signal);
    expect((await migrations().list()).items).toEqual([]);
  });
});
