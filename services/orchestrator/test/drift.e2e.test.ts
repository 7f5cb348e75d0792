/**
 * Drift repair on the testbed: the orchestrator in-process with a 1 s pass and a 6 s
 * orphan grace, scoped to this run's KvmHosts. A guest defined behind the control plane's
 * back (EnsureGuest on the agent with a uid no desktop has) is reported on the KvmHost and
 * deleted once the grace is over; a Running desktop's guest deleted behind its back (agent
 * DeleteGuest) is re-provisioned and the desktop comes back Running on the same host.
 * With a 6 s grace, any guest on the testbed's libvirtds that no desktop claims is deleted:
 * do not run this beside another plane's (or a benchmark's) guests.
 */
import { randomUUID } from 'node:crypto';
import type { KvmHost, VirtualDesktop } from '@deskplane/api';
import type { ProvisionDesktopJob } from '@deskplane/queue-contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configFromEnv } from '../src/config';
import { createLogger } from '../src/log';
import { startOrchestrator, type RunningOrchestrator } from '../src/orchestrator';
import { guestSpec } from '../src/processors/provision';
import { desktopYaml, domains, filesOf, kubectl, kubectlJson, startPlane, templateYaml, type Plane } from './support/plane';

const poll = { timeout: 90_000, interval: 250 };
const GRACE_MS = 6_000;

describe('drift repair: orphan guests removed after the grace, missing guests re-provisioned', () => {
  let plane: Plane;
  let orch: RunningOrchestrator;
  const getVd = (name: string) => kubectlJson<VirtualDesktop>(['get', 'vd', name, '-n', plane.ns]);
  const eventsAbout = async (kind: 'KvmHost' | 'VirtualDesktop', name: string, namespace?: string) =>
    plane.store.events.list({ kind, metadata: { name, ...(namespace ? { namespace } : {}) } });

  beforeAll(async () => {
    plane = await startPlane('orc-drift');
    const config = configFromEnv({
      DESKPLANE_ORCHESTRATOR_REDIS_URL: plane.redisUrl,
      DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: plane.prefix,
      DESKPLANE_ORCHESTRATOR_KUBECONFIG: plane.kubeconfig,
      DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: '127.0.0.1:0',
      DESKPLANE_ORCHESTRATOR_IDENTITY: `orc-drift-${plane.run}`,
      DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS: '1000',
      DESKPLANE_ORCHESTRATOR_ORPHAN_GRACE_MS: String(GRACE_MS),
      DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: `deskplane.io/e2e-run=${plane.run}`,
    });
    orch = await startOrchestrator({ config, store: plane.store, log: createLogger({ level: process.env.ORCHESTRATOR_TEST_LOG ?? 'warn' }) });
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], templateYaml('busybox-small'));
  });

  afterAll(async () => {
    await orch?.close();
    await plane?.close();
  });

  it('an orphan guest (a uid no desktop has) → Warning Event on the KvmHost, deleted after the grace', async () => {
    const host = plane.hostNames[0]!;
    const uid = randomUUID();
    const agent = await orch.deps.agents.forHost(host);
    const job = {
      desktop: { namespace: plane.ns, name: 'nobody', uid, generation: 1 },
      template: { name: 't', goldenImage: 'busybox', vcpus: 1, memoryBytes: String(128 << 20), diskBytes: String(1 << 30), imageCompression: 'auto_glz', streamingMode: 'filter' },
    } as ProvisionDesktopJob;
    try {
      await agent.ensureGuest(guestSpec(job, 'orphan-password'));
      const defined = Date.now();
      expect(await domains(plane.uriOf(host), true)).toContain(`dp-${uid}`);
      const hostObj = await kubectlJson<KvmHost>(['get', 'kvmhost', host]);

      const reported = await vi.waitFor(async () => {
        const e = (await eventsAbout('KvmHost', host)).find((x) => x.reason === 'OrphanGuest' && x.message.includes(uid));
        expect(e).toBeDefined();
        return Date.now();
      }, poll);
      expect((await eventsAbout('KvmHost', host)).find((x) => x.reason === 'OrphanGuest')).toMatchObject({ type: 'Warning', message: expect.stringMatching(/no desktop has this uid.*deleted after 6 s/) as string });
      // Still there during the grace.
      expect(await domains(plane.uriOf(host), true)).toContain(`dp-${uid}`);

      await vi.waitFor(async () => expect(await domains(plane.uriOf(host), true)).not.toContain(`dp-${uid}`), poll);
      const deleted = Date.now();
      console.log(`orphan dp-${uid}: reported ${reported - defined} ms after the define, deleted ${deleted - defined} ms after it (grace ${GRACE_MS} ms, pass every 1000 ms)`);
      expect(deleted - defined).toBeGreaterThanOrEqual(GRACE_MS);
      // The Event is recorded once DeleteGuest has returned: the disk is gone by then (the domain goes first).
      await vi.waitFor(async () => expect((await eventsAbout('KvmHost', host)).map((e) => e.reason)).toContain('OrphanGuestDeleted'), poll);
      expect(filesOf(plane.tb.storageDir, uid)).toEqual([]);
      expect(hostObj.metadata.name).toBe(host);
    } finally {
      await agent.deleteGuest(uid).catch(() => undefined);
    }
  });

  it('a Running desktop whose guest is deleted behind its back → GuestMissing, re-provisioned, Running again on its host', async () => {
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], desktopYaml('vd-m', 'busybox-small'));
    const before = await vi.waitFor(async () => {
      const o = await getVd('vd-m');
      expect(o.status?.phase).toBe('Running');
      return o;
    }, poll);
    const uid = before.metadata.uid!;
    const host = before.status!.host!;
    const agent = await orch.deps.agents.forHost(host);
    expect(await agent.deleteGuest(uid)).toBe(true);
    const deleted = Date.now();
    expect(await domains(plane.uriOf(host), true)).not.toContain(`dp-${uid}`);

    await vi.waitFor(async () => expect((await eventsAbout('VirtualDesktop', 'vd-m', plane.ns)).map((e) => e.reason)).toContain('GuestMissing'), poll);
    const noticed = Date.now();
    const after = await vi.waitFor(async () => {
      const o = await getVd('vd-m');
      expect(o.status?.phase).toBe('Running');
      expect(o.metadata.annotations?.['deskplane.io/repairs']).toBe('1');
      expect(await domains(plane.uriOf(host))).toContain(`dp-${uid}`);
      return o;
    }, poll);
    console.log(`vd-m: guest deleted → GuestMissing after ${noticed - deleted} ms → Running again after ${Date.now() - deleted} ms on ${after.status?.host}`);
    expect(after.status?.host).toBe(host);
    expect(after.status?.console?.ready).toBe(true);
    const missing = (await eventsAbout('VirtualDesktop', 'vd-m', plane.ns)).filter((e) => e.reason === 'GuestMissing');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ type: 'Warning', message: expect.stringContaining(`provision.${uid}.g1.r1`) as string });
    // Only on its host: nothing on the other one.
    for (const h of plane.hostNames.filter((x) => x !== host)) expect(await domains(plane.uriOf(h), true)).not.toContain(`dp-${uid}`);
    // A few more passes change nothing (no second repair, no orphan report).
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await getVd('vd-m')).metadata.annotations?.['deskplane.io/repairs']).toBe('1');
    for (const h of plane.hostNames) expect((await eventsAbout('KvmHost', h)).filter((e) => e.reason === 'OrphanGuest' && e.message.includes(uid))).toEqual([]);

    await kubectl(['delete', 'vd', 'vd-m', '-n', plane.ns, '--wait=false']);
    await vi.waitFor(async () => expect(await kubectl(['get', 'vd', 'vd-m', '-n', plane.ns, '--ignore-not-found'])).toBe(''), poll);
    for (const h of plane.hostNames) expect(await domains(plane.uriOf(h), true)).not.toContain(`dp-${uid}`);
    expect(filesOf(plane.tb.storageDir, uid)).toEqual([]);
  });

  it('counts its passes and actions in /metrics', async () => {
    const text = await (await fetch(`${orch.metricsUrl}/metrics`)).text();
    expect(text).toMatch(/deskplane_orchestrator_drift_passes_total\{result="done"\} [1-9]/);
    expect(text).toMatch(/deskplane_orchestrator_drift_actions_total\{action="deleteOrphan",result="done"\} 1/);
    expect(text).toMatch(/deskplane_orchestrator_drift_actions_total\{action="repairMissing",result="done"\} 1/);
  });
});
