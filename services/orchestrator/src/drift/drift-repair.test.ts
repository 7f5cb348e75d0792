import { EmbeddedStore } from '@deskplane/resource-store';
import { status } from '@grpc/grpc-js';
import type { JobRequest } from '@deskplane/queue-contracts';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Guest, HostAgent, HostAgents } from '../agents';
import { AgentCallError } from '../errors';
import { RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject, type TemplateObject } from '../resources';
import { DriftRepair } from './drift-repair';
import { MemoryDriftState } from './drift-state';

const ORPHAN = '00000000-0000-4000-8000-000000000009';

class Agents implements HostAgents {
  deleted: string[] = [];
  constructor(private readonly guests: Record<string, string[] | 'down'>) {}
  forHost(host: string): Promise<HostAgent> {
    const g = this.guests[host];
    const list = () => (g === 'down' ? Promise.reject(new AgentCallError(host, 'ListGuests', status.UNAVAILABLE, 'down')) : Promise.resolve((g ?? []).map((desktopUid) => ({ desktopUid }) as Guest)));
    return Promise.resolve({
      host,
      listGuests: list,
      getGuest: async (uid: string) => (await list()).find((x) => x.desktopUid === uid),
      deleteGuest: (uid: string) => {
        this.deleted.push(`${host}/${uid}`);
        return Promise.resolve(true);
      },
    } as unknown as HostAgent);
  }
  close(): void {}
}

async function setup(guestsOf: (vdUid: string) => Record<string, string[] | 'down'>) {
  const store = new EmbeddedStore();
  const hosts = store.client<HostObject>(RESOURCE_TYPES.KvmHost);
  const desktops = store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);
  const templates = store.client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate);
  for (const name of ['h1', 'h2']) await hosts.create({ apiVersion: 'deskplane.io/v1alpha1', kind: 'KvmHost', metadata: { name }, spec: { agentEndpoint: '127.0.0.1:1' } });
  await templates.create({ apiVersion: 'deskplane.io/v1alpha1', kind: 'DesktopTemplate', metadata: { name: 't', namespace: 'a' }, spec: { image: 'busybox', vcpus: 1, memory: '256Mi' } });
  const vd = await desktops.create({ apiVersion: 'deskplane.io/v1alpha1', kind: 'VirtualDesktop', metadata: { name: 'vd', namespace: 'a' }, spec: { templateRef: { name: 't' }, owner: 'x' } });
  await desktops.updateStatus({ ...vd, status: { phase: 'Running', host: 'h1' } });
  const jobs = new Map<string, { req: JobRequest; state: string }>();
  const queue = {
    enqueue: (req: JobRequest) => {
      const created = !jobs.has(req.jobId);
      if (created) jobs.set(req.jobId, { req, state: 'waiting' });
      return Promise.resolve({ id: req.jobId, created });
    },
    state: (_q: string, id: string) => Promise.resolve(jobs.get(id)?.state),
  };
  const uid = vd.metadata.uid!;
  const agents = new Agents(guestsOf(uid));
  const state = new MemoryDriftState();
  const drift = new DriftRepair(
    { intervalMs: 1000, orphanGraceMs: 0, identity: 'me' },
    { hosts, desktops, migrations: store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration), templates, agents, jobs: queue, events: store.events, state, log: pino({ level: 'silent' }) },
  );
  return { store, desktops, jobs, agents, state, drift, uid };
}

describe('DriftRepair (in memory)', () => {
  it('deletes an orphan, repairs a missing guest once, skips an unreachable host', async () => {
    const t = await setup(() => ({ h1: [ORPHAN], h2: 'down' }));
    const VD_UID = t.uid;
    const r = await t.drift.runOnce();
    expect(r?.unreachable).toEqual(['h2']);
    expect(r?.actions.map((a) => `${a.kind} ${a.result}`)).toEqual(['reportOrphan done', 'deleteOrphan done', 'repairMissing done']);
    expect(t.agents.deleted).toEqual([`h1/${ORPHAN}`]);
    expect([...t.jobs.keys()]).toEqual([`provision.${VD_UID}.g1.r1`]);
    expect((await t.desktops.get('vd', 'a'))?.metadata.annotations?.['deskplane.io/repairs']).toBe('1');
    const events = await t.store.events.list({ kind: 'VirtualDesktop', metadata: { name: 'vd', namespace: 'a' } });
    expect(events.map((e) => e.reason)).toEqual(['GuestMissing']);

    // The repair job is still waiting: the next pass does not queue another one.
    const again = await t.drift.runOnce();
    expect(again?.actions.filter((a) => a.kind === 'repairMissing')).toEqual([]);
    // Once it has completed and the guest is still missing, the next repair gets the next id.
    t.jobs.get(`provision.${VD_UID}.g1.r1`)!.state = 'completed';
    await t.drift.runOnce();
    expect([...t.jobs.keys()]).toContain(`provision.${VD_UID}.g1.r2`);
  });

  it('skips the pass while another replica holds the lock', async () => {
    const t = await setup((uid) => ({ h1: [uid], h2: [] }));
    expect(await t.state.tryLock('other', 60_000)).toBe(true);
    expect(await t.drift.runOnce()).toBeUndefined();
    await t.state.unlock('other');
    expect((await t.drift.runOnce())?.actions).toEqual([]);
  });
});
