/**
 * The first whole path, with real everything: kube-apiserver (CRDs, kubectl), the operator
 * in-process, the orchestrator's workers in-process, two real host agents driving the
 * testbed's libvirtd hosts, QEMU guests, Redis. kubectl apply a desktop → Running with a
 * SPICE console that accepts the stored password → a live migration → delete → nothing
 * left on either host. Plus: a permanent failure, its Failed condition, and the retry.
 */
import { readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCondition, type DesktopMigration, type VirtualDesktop } from '@deskplane/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { probeSpiceLink } from '../../../testbed/src/probes/spice';
import { configFromEnv } from '../src/config';
import { createLogger } from '../src/log';
import { startOrchestrator, type RunningOrchestrator } from '../src/orchestrator';
import { retryFailedJobs } from '../src/retry';
import { desktopYaml, domains, filesOf, kubectl, kubectlJson, migrationYaml, secretPassword, startPlane, templateYaml, type Plane } from './support/plane';

const poll = { timeout: 90_000, interval: 250 };

describe('orchestrator e2e: apply → running → SPICE → migrate → delete', () => {
  let plane: Plane;
  let orch: RunningOrchestrator;
  const getVd = (name: string) => kubectlJson<VirtualDesktop>(['get', 'vd', name, '-n', plane.ns]);
  const getMig = (name: string) => kubectlJson<DesktopMigration>(['get', 'dmig', name, '-n', plane.ns]);

  beforeAll(async () => {
    plane = await startPlane('orc-e2e');
    const config = configFromEnv({
      DESKPLANE_ORCHESTRATOR_REDIS_URL: plane.redisUrl,
      DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: plane.prefix,
      DESKPLANE_ORCHESTRATOR_KUBECONFIG: plane.kubeconfig,
      DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: '127.0.0.1:0',
      DESKPLANE_ORCHESTRATOR_IDENTITY: `orc-e2e-${plane.run}`,
      DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: `deskplane.io/e2e-run=${plane.run}`,
    });
    orch = await startOrchestrator({ config, store: plane.store, log: createLogger({ level: process.env.ORCHESTRATOR_TEST_LOG ?? 'warn' }) });
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], templateYaml('busybox-small'));
  });

  afterAll(async () => {
    await orch?.close();
    await plane?.close();
  });

  let uid = '';
  let firstHost = '';
  let password = '';

  it('kubectl apply a desktop → Running on a host with a console route; the password is only in the Secret', async () => {
    const t0 = Date.now();
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], desktopYaml('vd-a', 'busybox-small'));
    const vd = await vi.waitFor(async () => {
      const o = await getVd('vd-a');
      expect(o.status?.phase).toBe('Running');
      return o;
    }, poll);
    console.log(`vd-a: apply → Running in ${Date.now() - t0} ms on ${vd.status?.host}`);
    uid = vd.metadata.uid!;
    firstHost = vd.status!.host!;
    expect(plane.hostNames).toContain(firstHost);
    expect(vd.status?.console).toMatchObject({ ready: true, address: expect.any(String) as string, port: expect.any(Number) as number });
    expect(getCondition(vd.status?.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Running', observedGeneration: vd.metadata.generation });
    expect(getCondition(vd.status?.conditions, 'Provisioned')).toMatchObject({ status: 'True', observedGeneration: vd.metadata.generation });
    expect(vd.status?.timings?.provisionedAt).toBeDefined();
    expect(vd.status?.timings?.runningAt).toBeDefined();
    expect(await domains(plane.uriOf(firstHost))).toContain(`dp-${uid}`);

    password = await secretPassword(plane.ns, 'vd-a');
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const secret = await kubectlJson<{ metadata: { labels: Record<string, string>; ownerReferences: Array<{ uid: string; kind: string }> } }>(['get', 'secret', 'vd-a-console', '-n', plane.ns]);
    expect(secret.metadata.labels['deskplane.io/desktop']).toBe('vd-a');
    expect(secret.metadata.ownerReferences[0]).toMatchObject({ kind: 'VirtualDesktop', uid });
    expect(JSON.stringify(vd)).not.toContain(password);
    const events = await kubectl(['get', 'events', '-n', plane.ns, '-o', 'json']);
    expect(events).not.toContain(password);
    expect(events).toMatch(/"reason": "Provisioned"/);
  });

  it('the guest SPICE server accepts the stored password (result 0) and refuses a wrong one (7)', async () => {
    const { console: c } = (await getVd('vd-a')).status!;
    const ok = await probeSpiceLink({ host: c!.address!, port: c!.port!, password });
    expect(ok.result).toBe(0);
    const wrong = await probeSpiceLink({ host: c!.address!, port: c!.port!, password: `${password.slice(1)}x` });
    expect(wrong.result).toBe(7);
  });

  it('kubectl apply a DesktopMigration → Succeeded with bytes and downtime; the guest runs only on the other host', async () => {
    const target = plane.hostNames.find((h) => h !== firstHost)!;
    const t0 = Date.now();
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], migrationYaml('mig-a', 'vd-a', target));
    const m = await vi.waitFor(async () => {
      const o = await getMig('mig-a');
      expect(o.status?.phase).toMatch(/Succeeded|Failed/);
      return o;
    }, poll);
    console.log(`mig-a: apply → ${m.status?.phase} in ${Date.now() - t0} ms; bytes ${m.status?.bytesProcessed}, downtime ${m.status?.downtimeMs} ms`);
    expect(m.status?.phase).toBe('Succeeded');
    expect(m.status?.bytesProcessed).toBeGreaterThan(0);
    expect(m.status?.downtimeMs).toBeGreaterThanOrEqual(0);
    expect(m.status).toMatchObject({ sourceHost: firstHost, targetHost: target, progressPercent: 100 });
    expect(m.status?.startTime).toBeDefined();
    expect(m.status?.endTime).toBeDefined();
    const vd = await getVd('vd-a');
    expect(vd.status).toMatchObject({ phase: 'Running', host: target });
    expect(vd.status?.migrationRef).toBeUndefined();
    expect(vd.metadata.labels?.['deskplane.io/host']).toBe(target);
    expect(await domains(plane.uriOf(target))).toContain(`dp-${uid}`);
    expect(await domains(plane.uriOf(firstHost), true)).not.toContain(`dp-${uid}`);
    // The console route moved with it, and the password still works there.
    expect((await probeSpiceLink({ host: vd.status!.console!.address!, port: vd.status!.console!.port!, password })).result).toBe(0);
    await vi.waitFor(async () => expect(await kubectl(['describe', 'vd', 'vd-a', '-n', plane.ns])).toMatch(/Normal\s+Migrated/), poll);
  });

  it('kubectl delete vd → no domain on either host, no disk, no Secret; the finalizer released', async () => {
    const t0 = Date.now();
    await kubectl(['delete', 'vd', 'vd-a', '-n', plane.ns, '--wait=false']);
    await vi.waitFor(async () => expect(await kubectl(['get', 'vd', 'vd-a', '-n', plane.ns, '--ignore-not-found'])).toBe(''), poll);
    console.log(`vd-a: delete → gone in ${Date.now() - t0} ms`);
    for (const h of plane.hostNames) expect(await domains(plane.uriOf(h), true)).not.toContain(`dp-${uid}`);
    expect(filesOf(plane.tb.storageDir, uid)).toEqual([]);
    expect(await kubectl(['get', 'secret', 'vd-a-console', '-n', plane.ns, '--ignore-not-found'])).toBe('');
  });

  it('a permanent failure leaves Failed with the reason; after fixing the cause the documented retry brings it up', async () => {
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], templateYaml('not-yet', 'busybox-late') + '---\n' + desktopYaml('vd-b', 'not-yet'));
    const failed = await vi.waitFor(async () => {
      const o = await getVd('vd-b');
      expect(o.status?.phase).toBe('Failed');
      return o;
    }, poll);
    const ready = getCondition(failed.status?.conditions, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ProvisionFailed' });
    expect(ready?.message).toMatch(/FAILED_PRECONDITION.*busybox-late/);
    await vi.waitFor(async () => expect(await kubectl(['describe', 'vd', 'vd-b', '-n', plane.ns])).toMatch(/Warning\s+ProvisionFailed/), poll);

    // Fix the cause on the hosts (the golden image appears), then retry.
    const dir = plane.tb.goldenImagesDir;
    symlinkSync(readlinkSync(join(dir, 'busybox.qcow2')), join(dir, 'busybox-late.qcow2'));
    writeFileSync(join(dir, 'busybox-late.boot.json'), readFileSync(join(dir, 'busybox.boot.json')));
    expect(await retryFailedJobs(plane.redis, plane.prefix, plane.ns, 'vd-b')).toHaveLength(1);
    const vd = await vi.waitFor(async () => {
      const o = await getVd('vd-b');
      expect(o.status?.phase).toBe('Running');
      return o;
    }, poll);
    expect(getCondition(vd.status?.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Running' });
    await kubectl(['delete', 'vd', 'vd-b', '-n', plane.ns, '--wait=false']);
    await vi.waitFor(async () => expect(await kubectl(['get', 'vd', 'vd-b', '-n', plane.ns, '--ignore-not-found'])).toBe(''), poll);
    for (const h of plane.hostNames) expect(await domains(plane.uriOf(h), true)).not.toContain(`dp-${vd.metadata.uid}`);
  });

  it('exports job metrics and health', async () => {
    const text = await (await fetch(`${orch.metricsUrl}/metrics`)).text();
    expect(text).toMatch(/deskplane_orchestrator_jobs_total\{queue="deskplane-lifecycle",action="provision",result="completed"\} [1-9]/);
    expect(text).toMatch(/deskplane_orchestrator_jobs_total\{queue="deskplane-migration",action="migrate",result="completed"\} 1/);
    expect(text).toMatch(/deskplane_orchestrator_migrations_in_flight 0/);
    expect((await fetch(`${orch.metricsUrl}/healthz`)).status).toBe(200);
  });
});
