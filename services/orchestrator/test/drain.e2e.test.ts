/**
 * Host drain end to end on the testbed: four 256 MiB desktops placed on host 1 (host 2
 * cordoned until they run), then `kubectl patch` turns maintenance on for host 1. The
 * operator makes one labelled DesktopMigration per desktop, the orchestrator runs them
 * within its limits (2 out of one host, 5 in all), and all four end Running on host 2:
 * virsh finds none left on host 1, the KvmHost says Drained=True, and the slot timeline
 * recorded in-process (acquire after Redis granted the slot, release before it is given
 * back, so every migration lies inside its interval) never exceeds the limits.
 */
import { getCondition, type DesktopMigration, type KvmHost, type VirtualDesktop } from '@deskplane/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configFromEnv } from '../src/config';
import { createLogger } from '../src/log';
import { startOrchestrator, type RunningOrchestrator } from '../src/orchestrator';
import type { SlotEvent } from '../src/processors/context';
import { desktopYaml, domains, kubectl, kubectlJson, startPlane, templateYaml, type Plane } from './support/plane';

const poll = { timeout: 180_000, interval: 500 };
const DESKTOPS = ['vd-1', 'vd-2', 'vd-3', 'vd-4'];
const PER_HOST = 2;
const GLOBAL = 5;

/** Pure: the most slots held at once, overall and per source host (a release and an acquire at the same ms: release first). */
function maxConcurrency(events: readonly SlotEvent[]): { global: number; perHost: Record<string, number> } {
  const sorted = events.filter((e) => e.kind !== 'wait').sort((a, b) => a.at - b.at || (a.kind === 'release' ? -1 : 1));
  let global = 0;
  let maxGlobal = 0;
  const held: Record<string, number> = {};
  const perHost: Record<string, number> = {};
  for (const e of sorted) {
    const d = e.kind === 'acquire' ? 1 : -1;
    global += d;
    held[e.sourceHost] = (held[e.sourceHost] ?? 0) + d;
    maxGlobal = Math.max(maxGlobal, global);
    perHost[e.sourceHost] = Math.max(perHost[e.sourceHost] ?? 0, held[e.sourceHost]!);
  }
  return { global: maxGlobal, perHost };
}

describe('drain: maintenance on host 1 moves its 4 desktops to host 2 within the migration limits', () => {
  let plane: Plane;
  let orch: RunningOrchestrator;
  const slots: SlotEvent[] = [];
  const getVd = (name: string) => kubectlJson<VirtualDesktop>(['get', 'vd', name, '-n', plane.ns]);
  const getHost = (name: string) => kubectlJson<KvmHost>(['get', 'kvmhost', name]);
  const patchHost = (name: string, spec: Record<string, unknown>) => kubectl(['patch', 'kvmhost', name, '--type=merge', '-p', JSON.stringify({ spec })]);
  const hostCondition = async (name: string, type: string) => getCondition((await getHost(name)).status?.conditions, type);

  beforeAll(async () => {
    plane = await startPlane('orc-drain');
    const config = configFromEnv({
      DESKPLANE_ORCHESTRATOR_REDIS_URL: plane.redisUrl,
      DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: plane.prefix,
      DESKPLANE_ORCHESTRATOR_KUBECONFIG: plane.kubeconfig,
      DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: 'off',
      DESKPLANE_ORCHESTRATOR_IDENTITY: `orc-drain-${plane.run}`,
      DESKPLANE_ORCHESTRATOR_MIGRATIONS_PER_HOST: String(PER_HOST),
      DESKPLANE_ORCHESTRATOR_MIGRATIONS_GLOBAL: String(GLOBAL),
      DESKPLANE_ORCHESTRATOR_SLOT_RETRY_MS: '1000',
      DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: `deskplane.io/e2e-run=${plane.run}`,
    });
    orch = await startOrchestrator({ config, store: plane.store, log: createLogger({ level: process.env.ORCHESTRATOR_TEST_LOG ?? 'warn' }), onSlotEvent: (e) => slots.push(e) });
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], templateYaml('busybox-small'));
  });

  afterAll(async () => {
    await orch?.close();
    await plane?.close();
  });

  it('places 4 desktops on host 1 (host 2 cordoned meanwhile)', async () => {
    const [h1, h2] = plane.hostNames as [string, string];
    await patchHost(h2, { schedulable: false });
    await vi.waitFor(async () => expect((await hostCondition(h2, 'Schedulable'))?.status).toBe('False'), poll);
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], DESKTOPS.map((d) => desktopYaml(d, 'busybox-small')).join('---\n'));
    for (const d of DESKTOPS) {
      await vi.waitFor(async () => {
        const o = await getVd(d);
        expect(o.status?.phase).toBe('Running');
        expect(o.status?.host).toBe(h1);
      }, poll);
    }
    await patchHost(h2, { schedulable: true });
    await vi.waitFor(async () => expect((await hostCondition(h2, 'Schedulable'))?.status).toBe('True'), poll);
    const running = await domains(plane.uriOf(h1));
    for (const d of DESKTOPS) expect(running).toContain(`dp-${(await getVd(d)).metadata.uid}`);
  });

  it('maintenance on → all 4 Running on host 2, none left on host 1, Drained=True, never more than 2 out of host 1 at once', async () => {
    const [h1, h2] = plane.hostNames as [string, string];
    const uids = await Promise.all(DESKTOPS.map(async (d) => (await getVd(d)).metadata.uid!));
    const t0 = Date.now();
    await patchHost(h1, { maintenance: true });

    for (const d of DESKTOPS) {
      await vi.waitFor(async () => {
        const o = await getVd(d);
        expect(o.status?.host).toBe(h2);
        expect(o.status?.phase).toBe('Running');
      }, poll);
    }
    const moved = Date.now();
    await vi.waitFor(async () => expect(await hostCondition(h1, 'Drained')).toMatchObject({ status: 'True', reason: 'Drained' }), poll);
    const drained = Date.now();

    const migrations = (await kubectlJson<{ items: DesktopMigration[] }>(['get', 'dmig', '-n', plane.ns, '-l', `deskplane.io/drain=${h1}`])).items;
    expect(migrations).toHaveLength(4);
    for (const m of migrations) expect(m.status).toMatchObject({ phase: 'Succeeded', sourceHost: h1, targetHost: h2 });
    expect(migrations.map((m) => m.spec.desktopName).sort()).toEqual(DESKTOPS);

    // virsh on both hosts: every guest on host 2, running; nothing of them on host 1.
    const onH1 = await domains(plane.uriOf(h1), true);
    const onH2 = await domains(plane.uriOf(h2));
    for (const uid of uids) {
      expect(onH1).not.toContain(`dp-${uid}`);
      expect(onH2).toContain(`dp-${uid}`);
    }

    // The slot timeline of the drain.
    const acquires = slots.filter((e) => e.kind === 'acquire');
    const waits = slots.filter((e) => e.kind === 'wait');
    expect(acquires).toHaveLength(4);
    expect(slots.filter((e) => e.kind === 'release')).toHaveLength(4);
    const max = maxConcurrency(slots);
    const first = Math.min(...slots.map((e) => e.at));
    const timeline = slots.map((e) => `+${e.at - first}ms ${e.kind} ${e.holder.split('.')[1]?.slice(0, 8)} ${e.sourceHost === h1 ? 'h1' : e.sourceHost}→${e.targetHost === h2 ? 'h2' : e.targetHost}`);
    console.log(
      `drain of ${h1}: patch → all 4 Running on host 2 in ${moved - t0} ms, Drained=True after ${drained - t0} ms; ` +
        `max ${max.perHost[h1]} migrations out of host 1 at once (limit ${PER_HOST}), max ${max.global} overall (limit ${GLOBAL}); ${waits.length} waits for a slot\n  ${timeline.join('\n  ')}`,
    );
    expect(max.perHost[h1]).toBeLessThanOrEqual(PER_HOST);
    expect(max.global).toBeLessThanOrEqual(GLOBAL);
    // The limit was actually reached and enforced: two at once, the others made to wait.
    expect(max.perHost[h1]).toBe(PER_HOST);
    expect(waits.length).toBeGreaterThan(0);

    await vi.waitFor(async () => expect(await kubectl(['describe', 'kvmhost', h1])).toMatch(/Normal\s+Drained/), poll);
  });

  it('cleans up: desktops deleted, no guest on either host', async () => {
    const uids = await Promise.all(DESKTOPS.map(async (d) => (await getVd(d)).metadata.uid!));
    await kubectl(['delete', 'vd', ...DESKTOPS, '-n', plane.ns, '--wait=false']);
    for (const d of DESKTOPS) await vi.waitFor(async () => expect(await kubectl(['get', 'vd', d, '-n', plane.ns, '--ignore-not-found'])).toBe(''), poll);
    for (const h of plane.hostNames) {
      const left = await domains(plane.uriOf(h), true);
      for (const uid of uids) expect(left).not.toContain(`dp-${uid}`);
    }
  });
});
