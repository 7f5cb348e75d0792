/**
 * The activity task on the embedded store with the testbed's real Redis. Presence is
 * written here with the gateway's commands (ZADD / ZREM / SET, in the key layout of
 * gateway/src/presence.ts: gateway/src/presence.smoke.test.ts shows a real gateway
 * writing exactly this and this reader reading it); the operator cannot import the gateway.
 */
import { randomBytes } from 'node:crypto';
import { API_VERSION, formatTime, getCondition } from '@deskplane/api';
import { EmbeddedStore, Informer, type KubeObject } from '@deskplane/resource-store';
import { freePort, loadState } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deskplaneSchemas } from '../backends';
import type { EventSink } from '../controllers/shared/context';
import { createLogger } from '../log';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject, type PolicyObject, type PoolObject, type TemplateObject } from '../resources';
import type { OperatorView } from '../runtime/periodic';
import { Annotations } from './decide';
import { RedisPresenceReader, lastSessionEndKey, presenceHeartbeatKey, presenceKey } from './presence';
import { createActivityTask, runActivityPass } from './task';

const NS = 'acme';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const meta = (name: string, extra: Partial<KubeObject['metadata']> = {}) => ({ apiVersion: API_VERSION, metadata: { name, namespace: NS, ...extra } });
const at = (msAgo: number): string => formatTime(new Date(Date.now() - msAgo));

describe('activity task: embedded store + real Redis', () => {
  const prefix = `test:activity:${randomBytes(4).toString('hex')}`;
  const store = new EmbeddedStore({ schemas: deskplaneSchemas() });
  const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const informers = {
    hosts: new Informer(store.client<HostObject>(RESOURCE_TYPES.KvmHost)),
    desktops: new Informer(desktops),
    templates: new Informer(store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate)),
    migrations: new Informer(store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration)),
    policies: new Informer(store.client<PolicyObject>(RESOURCE_TYPES.DesktopPolicy)),
    pools: new Informer(store.client<PoolObject>(RESOURCE_TYPES.DesktopPool)),
  };
  const events: EventSink = {
    normal: (o, reason, message) => store.events.record(o, 'Normal', reason, message),
    warning: (o, reason, message) => store.events.record(o, 'Warning', reason, message),
  };
  const view: OperatorView = { ...informers, store, events, now: () => new Date(), log: createLogger({ level: 'silent' }) };
  let redis: Redis;
  let reader: RedisPresenceReader;

  const dk = (name: string): string => `${NS}/${name}`;
  const heartbeat = (sinceMsAgo: number): Promise<unknown> => redis.set(presenceHeartbeatKey(prefix), Date.now() - sinceMsAgo, 'PX', 60_000);
  const sessionOpen = (name: string, key: string): Promise<unknown> => redis.zadd(presenceKey(prefix, dk(name)), Date.now() + 45_000, key);
  const sessionEnd = async (name: string, key: string, msAgo = 0): Promise<void> => {
    await redis.zrem(presenceKey(prefix, dk(name)), key);
    await redis.set(lastSessionEndKey(prefix, dk(name)), Date.now() - msAgo, 'PX', 60_000);
  };
  const reasons = async (name: string): Promise<string[]> => (await store.events.list({ kind: 'VirtualDesktop', metadata: { name, namespace: NS } })).map((e) => e.reason);
  /** Waits until the informer (what the task reads) has caught up with a write. */
  const synced = <T extends KubeObject>(inf: Informer<T>, name: string, ok: (o: T | undefined) => boolean): Promise<void> =>
    vi.waitFor(() => {
      if (!ok(inf.get(name, NS))) throw new Error(`${name} not synced`);
    }, { timeout: 5_000, interval: 20 });

  async function makeDesktop(name: string, spec: Partial<DesktopObject['spec']>, o: { annotations?: Record<string, string>; runningMsAgo?: number } = {}): Promise<DesktopObject> {
    const created = await desktops.create({ ...meta(name, o.annotations ? { annotations: o.annotations } : {}), kind: 'VirtualDesktop', spec: { templateRef: { name: 'small' }, ...spec } });
    const running = await desktops.updateStatus({
      ...created,
      status: {
        phase: 'Running',
        host: 'h1',
        timings: { runningAt: at(o.runningMsAgo ?? 3_600_000) },
        conditions: [{ type: 'Ready', status: 'True', reason: 'Running', message: 'set by the test', lastTransitionTime: at(0) }],
      },
    });
    await synced(informers.desktops, name, (d) => d?.status?.phase === 'Running');
    return running;
  }

  beforeAll(async () => {
    const url = loadState().redis?.url;
    if (url === undefined) throw new Error('the testbed runs without Redis');
    redis = new Redis(url, { maxRetriesPerRequest: 1 });
    reader = new RedisPresenceReader(redis, prefix);
    await Promise.all(Object.values(informers).map((i: Informer<KubeObject>) => i.start()));
    await store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate).create({ ...meta('small'), kind: 'DesktopTemplate', spec: { image: 'debian-12', vcpus: 1, memory: '1Gi', defaultPolicyRef: { name: 'office' } } });
    await store.client<PolicyObject>(RESOURCE_TYPES.DesktopPolicy).create({ ...meta('office'), kind: 'DesktopPolicy', spec: { subjects: { allUsersInNamespace: true }, desktopIdleSeconds: 10 } });
    await store.client<PoolObject>(RESOURCE_TYPES.DesktopPool).create({ ...meta('lab'), kind: 'DesktopPool', spec: { templateRef: { name: 'small' }, size: 2, assignment: 'Floating', releaseAfterSeconds: 1 } });
    await synced(informers.pools, 'lab', (p) => p !== undefined);
    await synced(informers.policies, 'office', (p) => p !== undefined);
    await synced(informers.templates, 'small', (t) => t !== undefined);
  });

  afterAll(async () => {
    for (const i of Object.values(informers)) (i as Informer<KubeObject>).stop();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    await store.close();
  });

  it('a claimed floating desktop is released (recycle=logout + Event Released) only after releaseAfterSeconds, never an unclaimed one', async () => {
    await makeDesktop('lab-claim', { poolRef: { name: 'lab' }, owner: 'alice', persistent: false }, { annotations: { [Annotations.ClaimedAt]: at(5_000) }, runningMsAgo: 5_000 });
    await makeDesktop('lab-free', { poolRef: { name: 'lab' }, persistent: false }, { runningMsAgo: 3_600_000 });
    await heartbeat(3_600_000);
    await sessionOpen('lab-claim', 'gs-1');

    expect(await runActivityPass(view, reader)).toMatchObject({ presence: true, released: [] });
    await sessionEnd('lab-claim', 'gs-1');
    expect((await runActivityPass(view, reader)).released).toEqual([]);
    await sleep(1_100);
    // No gateway reports presence (heartbeat gone): the same desktop is left alone.
    await redis.del(presenceHeartbeatKey(prefix));
    expect(await runActivityPass(view, reader)).toMatchObject({ presence: false, released: [] });
    await heartbeat(3_600_000);

    await createActivityTask({ presence: reader, intervalMs: 100 }).run(view, new AbortController().signal);
    const released = await desktops.get('lab-claim', NS);
    expect(released?.metadata.annotations?.[Annotations.Recycle]).toBe('logout');
    expect(released?.spec.owner).toBe('alice');
    expect(await reasons('lab-claim')).toEqual(['Released']);
    expect((await store.events.list({ kind: 'VirtualDesktop', metadata: { name: 'lab-claim', namespace: NS } }))[0]?.message).toMatch(/^last console session ended \d+s ago \(pool lab releaseAfterSeconds 1\): returned to pool lab for reset$/);
    const free = await desktops.get('lab-free', NS);
    expect(free?.metadata.annotations?.[Annotations.Recycle]).toBeUndefined();
    expect(await reasons('lab-free')).toEqual([]);

    // Once annotated it is the pool controller's: further passes do nothing more.
    await synced(informers.desktops, 'lab-claim', (d) => d?.metadata.annotations?.[Annotations.Recycle] === 'logout');
    expect((await runActivityPass(view, reader)).released).toEqual([]);
    expect(await reasons('lab-claim')).toEqual(['Released']);
  });

  it('an idle persistent desktop is stopped (Halted + Event IdleStopped + Idle=True), one in use is not; started again, Idle turns False', async () => {
    await makeDesktop('alice-dev', { owner: 'alice' }, { runningMsAgo: 600_000 });
    await makeDesktop('bob-dev', { owner: 'bob' }, { runningMsAgo: 600_000 });
    await heartbeat(3_600_000);
    await sessionOpen('alice-dev', 'gs-a');
    await sessionEnd('alice-dev', 'gs-a', 8_000);
    await sessionOpen('bob-dev', 'gs-b');

    expect(await runActivityPass(view, reader)).toMatchObject({ stopped: [] });
    await sleep(2_100);
    expect(await runActivityPass(view, reader)).toMatchObject({ stopped: [`${NS}/alice-dev`], recycled: [] });

    const alice = (await desktops.get('alice-dev', NS))!;
    expect(alice.spec.runStrategy).toBe('Halted');
    expect(getCondition(alice.status?.conditions, 'Idle')).toMatchObject({ status: 'True', reason: 'IdleStopped' });
    expect(getCondition(alice.status?.conditions, 'Idle')?.message).toMatch(/^no console session for 10s \(policy office: desktopIdleSeconds 10\): stopped$/);
    expect(getCondition(alice.status?.conditions, 'Ready')).toMatchObject({ status: 'True', message: 'set by the test' });
    expect(await reasons('alice-dev')).toEqual(['IdleStopped']);
    const bob = (await desktops.get('bob-dev', NS))!;
    expect(bob.spec.runStrategy ?? 'Always').toBe('Always');
    expect(await reasons('bob-dev')).toEqual([]);

    // The user starts it again: the API sets Always, the orchestrator reports Running.
    await synced(informers.desktops, 'alice-dev', (d) => d?.spec.runStrategy === 'Halted');
    const restarted = await desktops.update({ ...alice, spec: { ...alice.spec, runStrategy: 'Always' } });
    await desktops.updateStatus({ ...restarted, status: { ...restarted.status, phase: 'Running', timings: { runningAt: at(0) } } });
    await synced(informers.desktops, 'alice-dev', (d) => d?.spec.runStrategy === 'Always' && d.status?.timings?.runningAt === at(0));
    expect(await runActivityPass(view, reader)).toMatchObject({ active: [`${NS}/alice-dev`], stopped: [] });
    const active = (await desktops.get('alice-dev', NS))!;
    expect(getCondition(active.status?.conditions, 'Idle')).toMatchObject({ status: 'False', reason: 'Active' });
    expect(active.spec.runStrategy).toBe('Always');
  });

  it('with Redis unreachable nothing is stopped or released', async () => {
    await makeDesktop('carol-dev', { owner: 'carol' }, { runningMsAgo: 3_600_000 });
    const dead = new Redis({ host: '127.0.0.1', port: await freePort('127.0.0.1'), maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    try {
      const r = await runActivityPass(view, new RedisPresenceReader(dead, prefix));
      expect(r).toMatchObject({ presence: false, stopped: [], released: [], recycled: [] });
      expect((await desktops.get('carol-dev', NS))?.spec.runStrategy ?? 'Always').toBe('Always');
    } finally {
      dead.disconnect();
    }
    // The same desktop with Redis back: stopped.
    await heartbeat(3_600_000);
    expect((await runActivityPass(view, reader)).stopped).toContain(`${NS}/carol-dev`);
  });
});
