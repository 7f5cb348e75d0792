/**
 * Issue 10, done-when: "Consolidation with 3 hosts and scattered idle desktops produces a
 * plan that empties at least one host, and executing it leaves every desktop Running."
 *
 * The local run (operator with its periodic consolidation task, orchestrator, gateway, one
 * host agent per host) runs in this process on a testbed instance of its own: Redis and
 * three libvirtd hosts on a subnet of their own, so emptying hosts touches no other suite's
 * guests. Five desktops (the run's demo desktop and four more) are spread over the three
 * hosts. In dry-run the operator only says what it would do (Events); a desktop with a
 * console open through the gateway keeps its host. Then the run restarts with
 * consolidation on, and the plan is carried out by real live migrations.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { API_VERSION } from '@deskplane/api';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import type { KubeObject } from '@deskplane/resource-store';
import { down, findGuest, up, type TestbedState, freeHostSubnet } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocal, type RunningLocal } from '../src';
import { eventsWith, formatEvent, holdConsole, virshDomains, type HeldConsole, type SeenEvent } from './support/consolidation';

const NS = 'demo';
const EXTRA = ['consol-a', 'consol-b', 'consol-c', 'consol-d'];
const INTERVAL_MS = 2_000;
const REASON_LABEL = 'deskplane.io/reason';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

type Desktop = KubeObject & { spec: { owner?: string }; status?: { phase?: string; host?: string; console?: { ready?: boolean } } };
type Migration = KubeObject & {
  spec: { desktopName: string; targetHost?: string };
  status?: { phase?: string; sourceHost?: string; targetHost?: string; startTime?: string; endTime?: string; downtimeMs?: number; message?: string };
};

/** "would move from host-1 to host-3 to empty host-1" → the two hosts. */
const moveOf = (note: string): { from: string; to: string } | undefined => {
  const m = /^would move from (\S+) to (\S+) to empty/.exec(note);
  return m ? { from: m[1]!, to: m[2]! } : undefined;
};
const emptiedBy = (e: SeenEvent): string | undefined => (e.kind === 'KvmHost' ? /^would empty ([^:]+):/.exec(e.note)?.[1] : undefined);

describe('consolidation on three hosts', () => {
  const id = randomBytes(3).toString('hex');
  const testbedName = `consol-e2e-${id}`;
  const redisPrefix = `consol-e2e-${id}`;
  const said: string[] = [];
  let testbed: TestbedState | undefined;
  let local: RunningLocal | undefined;
  let held: HeldConsole | undefined;
  let t0 = 0;

  const desktops = () => local!.store.client<Desktop>(RESOURCE_TYPES.VirtualDesktop);
  const migrations = () => local!.store.client<Migration>(RESOURCE_TYPES.DesktopMigration);
  const all = async (): Promise<Desktop[]> => (await desktops().list({ namespace: NS })).items;
  const consolidationMigrations = async (): Promise<Migration[]> =>
    (await migrations().list({ namespace: NS })).items.filter((m) => m.metadata.labels?.[REASON_LABEL] === 'consolidation');
  /** Desktops per host (status.host), every testbed host listed. */
  const layout = async (): Promise<Map<string, string[]>> => {
    const by = new Map(testbed!.hosts.map((h) => [h.name, [] as string[]]));
    for (const d of await all()) if (d.status?.host) by.get(d.status.host)?.push(d.metadata.name);
    return by;
  };
  const show = (l: Map<string, string[]>): string => [...l].map(([h, ds]) => `${h}: [${ds.join(', ')}]`).join('; ');
  /** Every Event of the plan so far: desktops' in the tenant, hosts' in `default`. */
  const planEvents = async (reasons: string[]): Promise<SeenEvent[]> => [
    ...(await eventsWith(local!.store, NS, reasons)),
    ...(await eventsWith(local!.store, 'default', reasons)),
  ];
  const waitFor = async <T>(what: string, get: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(500)) {
      const v = await get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${secs(timeoutMs)}; layout ${show(await layout())}; local run said: ${said.slice(-5).join(' | ')}`);
    }
  };
  const allRunning = async (): Promise<boolean> => {
    const ds = await all();
    return ds.length === EXTRA.length + 1 && ds.every((d) => d.status?.phase === 'Running' && d.status.console?.ready === true);
  };
  const start = (mode: 'dry-run' | 'on'): Promise<RunningLocal> =>
    startLocal({
      testbed: testbed!,
      // Under the instance's state dir: every simulated host sees it at the same path.
      dataDir: join(testbed!.stateDir, 'local'),
      redisPrefix,
      log: (m) => void said.push(m),
      gateway: { listen: { host: '127.0.0.1', port: 0 }, connectListen: { host: '127.0.0.1', port: 0 } },
      env: { DESKPLANE_OPERATOR_CONSOLIDATION: mode, DESKPLANE_OPERATOR_CONSOLIDATION_INTERVAL_MS: String(INTERVAL_MS) },
    });

  beforeAll(async () => {
    testbed = await up({ name: testbedName, hostSubnet: freeHostSubnet(), hosts: 3, parts: { redis: true, kube: false, hosts: true } });
    expect(testbed.hosts.map((h) => h.name)).toEqual(['host-1', 'host-2', 'host-3']);
    local = await start('dry-run');
  }, 600_000);

  afterAll(async () => {
    held?.close();
    await local?.close();
    // Only this test's own instance; its state dir (guest disks, the run's store) goes too.
    if (testbed) await down({ name: testbedName });
  }, 300_000);

  it('spreads five desktops over the three hosts, all Running', async () => {
    t0 = Date.now();
    for (const name of EXTRA) {
      await desktops().create({ apiVersion: API_VERSION, kind: 'VirtualDesktop', metadata: { name, namespace: NS }, spec: { templateRef: { name: 'busybox' }, owner: 'demo' } } as Desktop);
    }
    await waitFor('five desktops Running with a console', async () => ((await allRunning()) ? true : undefined), 360_000);
    console.log(`5 desktops Running after ${secs(Date.now() - t0)}; placed by the scheduler: ${show(await layout())}`);

    // Scatter: a host the scheduler left empty gets a desktop from the fullest host, by live migration.
    let moved = 0;
    for (const host of testbed!.hosts.map((h) => h.name)) {
      const l = await layout();
      if (l.get(host)!.length > 0) continue;
      const [, fullest] = [...l].sort((a, b) => b[1].length - a[1].length)[0]!;
      const name = `scatter-${host}`;
      await migrations().create({ apiVersion: API_VERSION, kind: 'DesktopMigration', metadata: { name, namespace: NS }, spec: { desktopName: fullest[0]!, targetHost: host } });
      const phase = await waitFor(`migration ${name}`, async () => {
        const p = (await migrations().get(name, NS))?.status?.phase;
        return p === 'Succeeded' || p === 'Failed' || p === 'Aborted' ? p : undefined;
      }, 240_000);
      const m = (await migrations().get(name, NS))!;
      const at = (t?: string): string => (t ? secs(Date.parse(t) - Date.parse(m.metadata.creationTimestamp!)) : '?');
      console.log(`${name}: ${fullest[0]} ${m.status?.sourceHost} → ${host} ${phase}: started ${at(m.status?.startTime)}, ended ${at(m.status?.endTime)} after creation`);
      expect(phase).toBe('Succeeded');
      moved++;
    }
    await waitFor('five desktops Running after the scatter', async () => ((await allRunning()) ? true : undefined), 120_000);
    const l = await layout();
    console.log(`scattered with ${moved} migration(s): ${show(l)}`);
    for (const [host, ds] of l) expect(ds.length, `${host} holds no desktop`).toBeGreaterThanOrEqual(1);
  }, 720_000);

  it('dry-run: plans to empty a host, starts no migration, and never moves a desktop with an open console', async () => {
    const scattered = Date.now();
    const l = await layout();
    // A plan made from the scattered layout: a host event newer than the layout, and every desktop on that host planned off it.
    const plan = await waitFor('a ConsolidationPlanned plan that empties a host', async () => {
      const evs = await planEvents(['ConsolidationPlanned']);
      const fresh = evs.filter((e) => e.last >= scattered);
      const host = fresh.map(emptiedBy).find((h): h is string => h !== undefined && l.get(h)!.length > 0);
      if (!host) return undefined;
      const moves = fresh.filter((e) => e.kind === 'VirtualDesktop' && moveOf(e.note)?.from === host);
      return moves.length === l.get(host)!.length ? { host, moves, evs } : undefined;
    }, 120_000);
    console.log(`dry-run plan seen ${secs(Date.now() - scattered)} after the scatter (${secs(Date.now() - t0)} after the desktops were created); it empties ${plan.host}:`);
    for (const e of plan.evs) console.log(formatEvent(e, t0));
    expect(plan.moves.map((e) => e.name).sort()).toEqual([...l.get(plan.host)!].sort());
    for (const e of plan.moves) expect(moveOf(e.note)!.to).not.toBe(plan.host);
    expect(await consolidationMigrations(), 'dry-run created DesktopMigrations').toEqual([]);
    expect((await migrations().list({ namespace: NS })).items.map((m) => m.metadata.name).every((n) => n.startsWith('scatter-'))).toBe(true);

    // A console session on a desktop the plan would move: open through the gateway, for real.
    const pinned = plan.moves[0]!.name;
    const gw = local!.gateway;
    const upstream = await gw.upstreamOf(NS, pinned);
    const { ticket } = await gw.mintTicket({ user: 'demo', tenant: NS, desktop: `${NS}/${pinned}`, upstream, ttlMs: 60_000 });
    held = await holdConsole(gw.host, gw.port, ticket);
    const presenceKey = `${redisPrefix}:gateway:presence:${NS}/${pinned}`;
    await waitFor('the session in the gateway and in Redis presence', async () =>
      gw.gateway.sessions.list({ desktop: `${NS}/${pinned}` }).length === 1 && (await local!.redis.zcard(presenceKey)) === 1 ? true : undefined, 15_000);
    // A pass that read presence just before the session opened may still write its Events.
    const settled = Date.now() + INTERVAL_MS + 1_000;
    const window = 6 * INTERVAL_MS;
    await sleep(settled - Date.now() + window);
    const during = (await planEvents(['ConsolidationPlanned'])).filter((e) => e.last > settled);
    console.log(`with a console open on ${NS}/${pinned} (on ${plan.host}), ${secs(window)} of passes said:`);
    for (const e of during) console.log(formatEvent(e, t0));
    expect(held.received(), 'the guest sent nothing on the held main channel').toBeGreaterThan(0);
    expect(during.filter((e) => e.kind === 'VirtualDesktop' && e.name === pinned), `${pinned} is still planned to move`).toEqual([]);
    const emptiedDuring = [...new Set(during.map(emptiedBy).filter((h): h is string => h !== undefined))];
    expect(emptiedDuring, `${plan.host} is still planned to be emptied`).not.toContain(plan.host);
    // Another host can still be emptied (onto the pinned desktop's host among others).
    expect(emptiedDuring.length, 'no plan while the console was open').toBeGreaterThanOrEqual(1);
    expect(await consolidationMigrations()).toEqual([]);

    // Closing the session gives the desktop back to the plan: proof that the session was what held it.
    held.close();
    held = undefined;
    await waitFor('presence cleared', async () => ((await local!.redis.zcard(presenceKey)) === 0 ? true : undefined), 15_000);
    const closed = Date.now();
    const back = await waitFor(`${pinned} planned again after the console closed`, async () =>
      (await planEvents(['ConsolidationPlanned'])).find((e) => e.kind === 'VirtualDesktop' && e.name === pinned && e.last > closed + INTERVAL_MS), 30_000);
    console.log(`console closed: ${pinned} back in the plan after ${secs(back.last - closed)}: ${back.note}`);
    expect(await consolidationMigrations()).toEqual([]);
  }, 300_000);

  it('on: the plan is carried out by live migrations, a host ends empty (libvirt too), and every desktop runs', async () => {
    const before = await layout();
    await local!.close();
    local = undefined;
    const restarted = Date.now();
    local = await start('on');
    console.log(`local run restarted with consolidation on in ${secs(Date.now() - restarted)}; layout ${show(before)}`);

    // Done: consolidation migrations exist, all ended, a host has no desktop, and 5 passes since
    // the last one ended started none (a plan bigger than one pass's limit goes on after an end).
    let lastCount = -1;
    let quietSince = Date.now();
    let firstSeen = 0;
    let maxInFlight = 0;
    const ended = await waitFor('consolidation to finish', async () => {
      const ms = await consolidationMigrations();
      if (ms.length > 0 && !firstSeen) firstSeen = Date.now();
      const inFlight = ms.filter((m) => !['Succeeded', 'Failed', 'Aborted'].includes(m.status?.phase ?? '')).length;
      if (ms.length !== lastCount || inFlight > 0) [lastCount, quietSince] = [ms.length, Date.now()];
      maxInFlight = Math.max(maxInFlight, inFlight);
      const emptyHosts = [...(await layout())].filter(([, ds]) => ds.length === 0);
      return ms.length > 0 && inFlight === 0 && emptyHosts.length > 0 && Date.now() - quietSince > 5 * INTERVAL_MS ? ms : undefined;
    }, 480_000);
    const lastEnd = Math.max(...ended.map((m) => Date.parse(m.status?.endTime ?? '') || 0));
    console.log(
      `first consolidation migration seen ${secs(firstSeen - restarted)} after the restart; the last of ${ended.length} ended ${secs(lastEnd - restarted)} after it; ` +
        `at most ${maxInFlight} in flight at once (limit 2):`,
    );
    for (const m of ended) {
      const took = m.status?.startTime && m.status.endTime ? secs(Date.parse(m.status.endTime) - Date.parse(m.status.startTime)) : '?';
      console.log(`  ${m.metadata.name}: ${m.spec.desktopName} ${m.status?.sourceHost} → ${m.status?.targetHost} ${m.status?.phase} in ${took}, downtime ${m.status?.downtimeMs ?? '?'} ms${m.status?.message ? ` (${m.status.message})` : ''}`);
    }
    expect(ended.map((m) => `${m.metadata.name} ${m.status?.phase}`)).toEqual(ended.map((m) => `${m.metadata.name} Succeeded`));
    // DESKPLANE_OPERATOR_CONSOLIDATION_MAX_MIGRATIONS' default: a bigger plan waits for later passes.
    expect(maxInFlight).toBeLessThanOrEqual(2);

    const after = await layout();
    console.log(`layout after consolidation: ${show(after)}`);
    const emptied = [...after].filter(([, ds]) => ds.length === 0).map(([h]) => h);
    expect(emptied.length).toBeGreaterThanOrEqual(1);
    expect(emptied.length).toBeLessThan(testbed!.hosts.length);
    // Every emptied host held desktops before and was emptied by these migrations.
    for (const h of emptied) {
      expect(before.get(h)!.length, `${h} was empty before consolidation`).toBeGreaterThan(0);
      expect(ended.some((m) => m.status?.sourceHost === h)).toBe(true);
    }

    // libvirt agrees: nothing runs on an emptied host; each desktop's guest runs where its status says.
    const uriOf = new Map(testbed!.hosts.map((h) => [h.name, h.libvirtUri]));
    for (const h of emptied) {
      const running = await virshDomains(uriOf.get(h)!);
      console.log(`virsh list on ${h}: ${running.length} running [${running.join(', ')}]; defined: [${(await virshDomains(uriOf.get(h)!, true)).join(', ')}]`);
      expect(running, `domains still running on ${h}`).toEqual([]);
    }
    await waitFor('every desktop Running with a console', async () => ((await allRunning()) ? true : undefined), 60_000);
    for (const d of await all()) {
      const guest = await findGuest(testbed!, d.metadata.uid!);
      expect({ desktop: d.metadata.name, phase: d.status?.phase, uri: guest.uri }).toEqual({ desktop: d.metadata.name, phase: 'Running', uri: uriOf.get(d.status!.host!) });
    }

    // The operator says so: a ConsolidationHostEmpty Event for every emptied host.
    const empties = await waitFor('ConsolidationHostEmpty for every emptied host', async () => {
      const evs = (await eventsWith(local!.store, 'default', ['ConsolidationHostEmpty'])).filter((e) => e.kind === 'KvmHost');
      return emptied.every((h) => evs.some((e) => e.name === h)) ? evs : undefined;
    }, 30_000);
    for (const e of empties) console.log(formatEvent(e, t0));
    const started = await planEvents(['ConsolidationStarted']);
    console.log(`ConsolidationStarted events: ${started.length}`);
    for (const e of started) console.log(formatEvent(e, t0));
    expect([...new Set(started.filter((e) => e.kind === 'VirtualDesktop').map((e) => e.name))].sort()).toEqual([...new Set(ended.map((m) => m.spec.desktopName))].sort());
  }, 720_000);
});
