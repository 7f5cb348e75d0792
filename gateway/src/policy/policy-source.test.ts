import { API_VERSION, DesktopPolicyKind, applyDefaults, getCondition, issuesFor, type DesktopPolicy, type DesktopPolicySpec } from '@deskplane/api';
import { EmbeddedStore, typeKey, type KubeObject, type ResourceClient } from '@deskplane/resource-store';
import { ChannelType as T } from '@deskplane/spice-protocol';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { StaticPolicySource, StorePolicySource } from './policy-source';

type PolicyObject = DesktopPolicy & KubeObject;

const who = (user: string, tenant = 'team-a', groups: string[] = []) => ({ tenant, user, groups });

function policy(name: string, spec: Partial<DesktopPolicySpec>, namespace = 'team-a'): PolicyObject {
  return { apiVersion: API_VERSION, kind: 'DesktopPolicy', metadata: { name, namespace }, spec: { subjects: { allUsersInNamespace: true }, ...spec } };
}

/** An in-process store that defaults and validates DesktopPolicy as the CRD does, so bad status writes fail here too. */
function openStore(): { store: EmbeddedStore; client: ResourceClient<PolicyObject> } {
  const schemas = new Map([
    [
      typeKey(DesktopPolicyKind.info),
      {
        applyDefaults: (o: KubeObject) => applyDefaults(o),
        validate: (o: KubeObject) => issuesFor(DesktopPolicyKind, o).map((i) => `${i.path}: ${i.message}`),
      },
    ],
  ]);
  const store = new EmbeddedStore({ schemas });
  return { store, client: store.client<PolicyObject>(DesktopPolicyKind.info) };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const sources: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
});

async function started(store: EmbeddedStore, opts: Parameters<typeof StorePolicySource.start>[1] = {}) {
  const logs: Array<[string, Record<string, unknown>]> = [];
  const source = await StorePolicySource.start(store, { log: (e, f) => logs.push([e, f]), ...opts });
  sources.push(source);
  let changes = 0;
  source.onChange(() => changes++);
  return { source, logs, changes: () => changes };
}

const ready = async (client: ResourceClient<PolicyObject>, name: string, ns = 'team-a') => getCondition((await client.get(name, ns))?.status?.conditions, 'Ready');

describe('StorePolicySource (embedded store)', () => {
  it('loads what exists before current() is asked, and marks each policy Ready=True Applied for its generation', async () => {
    const { store, client } = openStore();
    await client.create(policy('standard', { bandwidth: { totalKbps: 2000 }, deniedChannels: ['usbredir'] }));
    const { source } = await started(store);
    const p = source.current(who('bob'));
    expect(p.name).toBe('standard');
    expect(p.sessionBytesPerSec).toBe(250_000);
    expect(p.deniedChannels).toEqual(new Set([T.USBREDIR]));
    await source.flush();
    expect(await ready(client, 'standard')).toMatchObject({ status: 'True', reason: 'Applied', observedGeneration: 1 });
  });

  it('a spec change notifies and applies; its own status write does not notify', async () => {
    const { store, client } = openStore();
    await client.create(policy('standard', { bandwidth: { totalKbps: 2000 } }));
    const { source, changes } = await started(store);
    await source.flush();
    await sleep(50); // the Ready write's watch event has come and gone
    expect(changes()).toBe(0);
    const cur = (await client.get('standard', 'team-a'))!;
    await client.update({ ...cur, spec: { ...cur.spec, bandwidth: { totalKbps: 8000 } } });
    await until('the new rate', () => source.current(who('bob')).sessionBytesPerSec === 1_000_000);
    expect(changes()).toBe(1);
    await source.flush();
    await until('Ready for generation 2', async () => (await ready(client, 'standard'))?.observedGeneration === 2);
    await sleep(50);
    expect(changes()).toBe(1);
  });

  it('keeps the operator\'s part of the status (Valid, observedGeneration) when writing Ready', async () => {
    const { store, client } = openStore();
    const created = await client.create(policy('standard', { clipboard: 'none' }));
    await client.updateStatus({
      ...created,
      status: { observedGeneration: 1, conditions: [{ type: 'Valid', status: 'True', reason: 'PolicyValid', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] },
    });
    const { source } = await started(store);
    await source.flush();
    const status = (await client.get('standard', 'team-a'))!.status!;
    expect(status.observedGeneration).toBe(1);
    expect(status.conditions?.map((c) => `${c.type}=${c.status}`).sort()).toEqual(['Ready=True', 'Valid=True']);
  });

  it('a policy the operator marks Valid=False is dropped (notified) and marked Ready=False NotApplied', async () => {
    const { store, client } = openStore();
    await client.create(policy('base', { clipboard: 'both' }));
    await client.create(policy('strict', { priority: 10, clipboard: 'none' }));
    const { source, changes } = await started(store);
    expect(source.current(who('bob')).name).toBe('strict');
    await source.flush();
    const cur = (await client.get('strict', 'team-a'))!;
    await client.updateStatus({
      ...cur,
      status: { ...cur.status, conditions: [...(cur.status?.conditions ?? []), { type: 'Valid', status: 'False', reason: 'InvalidPolicy', message: 'x', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    });
    await until('strict dropped', () => source.current(who('bob')).name === 'base');
    expect(changes()).toBe(1);
    await source.flush();
    await until('Ready=False', async () => (await ready(client, 'strict'))?.status === 'False');
    expect(await ready(client, 'strict')).toMatchObject({ reason: 'NotApplied', observedGeneration: 1 });
    expect(await ready(client, 'base')).toMatchObject({ status: 'True', reason: 'Applied' });
  });

  it('a new policy and a deleted one both notify, and current() follows', async () => {
    const { store, client } = openStore();
    const { source, changes } = await started(store);
    expect(source.current(who('bob')).name).toBe('');
    await client.create(policy('late', { maxConcurrentSessions: 1 }));
    await until('late loaded', () => source.current(who('bob')).maxConcurrentSessions === 1);
    await client.delete('late', 'team-a');
    await until('late gone', () => source.current(who('bob')).name === '');
    expect(changes()).toBe(2);
  });

  it('tenants stay apart, and `namespace` watches one only', async () => {
    const { store, client } = openStore();
    await client.create(policy('a', { clipboard: 'none' }, 'team-a'));
    await client.create(policy('b', { clipboard: 'toGuest' }, 'team-b'));
    const all = (await started(store)).source;
    expect(all.current(who('x', 'team-a')).clipboard).toBe('none');
    expect(all.current(who('x', 'team-b')).clipboard).toBe('toGuest');
    const onlyB = (await started(store, { namespace: 'team-b' })).source;
    expect(onlyB.current(who('x', 'team-a')).name).toBe('');
    expect(onlyB.current(who('x', 'team-b')).name).toBe('b');
  });

  it('reload() re-reads and notifies once; close() stops notifications and status writes', async () => {
    const { store, client } = openStore();
    await client.create(policy('p', { clipboard: 'none' }));
    const { source, changes } = await started(store);
    await source.reload();
    expect(changes()).toBe(1);
    expect(source.current(who('x')).name).toBe('p');
    await source.flush();
    source.close();
    await client.create(policy('q', { priority: 5, clipboard: 'toGuest' }));
    await sleep(100);
    expect(changes()).toBe(1);
    expect(await ready(client, 'q')).toBeUndefined();
    await expect(source.reload()).rejects.toThrow('closed');
  });

  it('a listener that throws is logged and does not stop the others', async () => {
    const { store, client } = openStore();
    const { source, logs, changes } = await started(store);
    source.onChange(() => {
      throw new Error('boom');
    });
    let after = 0;
    source.onChange(() => after++);
    await client.create(policy('p', {}));
    await until('notified', () => after === 1);
    expect(changes()).toBe(1);
    expect(logs).toContainEqual(['policy.listener-failed', { error: 'boom' }]);
  });
});

describe('StaticPolicySource', () => {
  it('resolves from its list; set() notifies; unsubscribe stops it', () => {
    const s = new StaticPolicySource([policy('p', { clipboard: 'toClient' })]);
    sources.push(s);
    let n = 0;
    const off = s.onChange(() => n++);
    expect(s.current(who('x')).clipboard).toBe('toClient');
    s.set([policy('p', { clipboard: 'none' })]);
    expect(n).toBe(1);
    expect(s.current(who('x')).clipboard).toBe('none');
    off();
    s.set([]);
    expect(n).toBe(1);
    expect(s.current(who('x')).name).toBe('');
  });
});
