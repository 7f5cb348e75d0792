/**
 * A real remote-viewer (under Xvfb) on a desktop through the gateway while the
 * orchestrator live-migrates the desktop back and forth between the two testbed hosts:
 * libvirt's graphics URI points the client at the gateway, the gateway routes the
 * returning session to the destination, the orchestrator holds the migration at a low
 * bandwidth until the gateway reports every channel re-linked. The viewer keeps showing the
 * guest (the counter advances after every move) on ONE ticket; the seamless count comes from
 * the gateway's own session log; the picture freeze is measured at the client.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DesktopMigration, VirtualDesktop } from '@deskplane/api';
import { startViewer, type Viewer } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configFromEnv } from '../../services/orchestrator/src/config';
import { createLogger } from '../../services/orchestrator/src/log';
import { startOrchestrator, type RunningOrchestrator } from '../../services/orchestrator/src/orchestrator';
import { desktopYaml, kubectl, kubectlJson, migrationYaml, secretPassword, startPlane, templateYaml, type Plane } from '../../services/orchestrator/test/support/plane';
import { MemoryTicketStore, startGateway, type Gateway } from '../src';
import { buildVvFile } from '../src/vv-file';

const MIGRATIONS = Number(process.env.GATEWAY_MIGRATIONS ?? 20);
const ARTIFACTS = join(__dirname, '../../test-artifacts/gateway-migration');
const poll = { timeout: 120_000, interval: 200 };

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

describe('gateway e2e: remote-viewer through the gateway across live migrations', () => {
  let plane: Plane;
  let orch: RunningOrchestrator;
  let gw: Gateway;
  let viewer: Viewer | undefined;
  const events: { event: string; fields: Record<string, unknown>; at: number }[] = [];
  const tickets = new MemoryTicketStore();
  let minted = 0;
  const desktop = 'vd-gw';
  const getVd = () => kubectlJson<VirtualDesktop>(['get', 'vd', desktop, '-n', plane.ns]);
  const getMig = (name: string) => kubectlJson<DesktopMigration>(['get', 'dmig', name, '-n', plane.ns]);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    plane = await startPlane('gw-mig');
    gw = await startGateway({
      listen: { host: '127.0.0.1', port: 0 },
      tickets,
      log: (event, fields) => events.push({ event, fields, at: Date.now() }),
    });
    const key = (m: { namespace: string; desktop: string }): string => `${m.namespace}/${m.desktop}`;
    const config = configFromEnv({
      DESKPLANE_ORCHESTRATOR_REDIS_URL: plane.redisUrl,
      DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: plane.prefix,
      DESKPLANE_ORCHESTRATOR_KUBECONFIG: plane.kubeconfig,
      DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: '127.0.0.1:0',
      DESKPLANE_ORCHESTRATOR_IDENTITY: `gw-mig-${plane.run}`,
      DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: `deskplane.io/e2e-run=${plane.run}`,
    });
    orch = await startOrchestrator({
      config,
      store: plane.store,
      log: createLogger({ level: process.env.ORCHESTRATOR_TEST_LOG ?? 'warn' }),
      // In-process here; a deployment reaches the same MigrationControl over the admin gRPC API.
      hooks: {
        graphicsUri: `spice://127.0.0.1:${gw.port}`,
        holdBandwidthMiBps: 2,
        beforeLiftingCap: async (m) => {
          const r = await gw.migrations.prepare({ desktop: key(m), destination: { host: m.destination.address, port: m.destination.port, password: '' }, timeoutMs: 20_000 });
          events.push({ event: 'test.ready', fields: { ...r }, at: Date.now() });
        },
        afterMigration: (m) => gw.migrations.finish({ desktop: key(m), succeeded: m.succeeded }),
      },
    });
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], templateYaml('gw-small'));
  });

  afterAll(async () => {
    writeFileSync(join(ARTIFACTS, 'gateway-log.json'), JSON.stringify(events, null, 1));
    await viewer?.close();
    await orch?.close();
    await gw?.close();
    await plane?.close();
  });

  it('a desktop runs; remote-viewer shows it through the gateway on a ticket', async () => {
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], desktopYaml(desktop, 'gw-small'));
    const vd = await vi.waitFor(async () => {
      const o = await getVd();
      expect(o.status?.phase).toBe('Running');
      expect(o.status?.console?.port).toBeGreaterThan(0);
      return o;
    }, poll);
    const password = await secretPassword(plane.ns, desktop);
    const { ticket } = await tickets.mint({
      user: 'alice', tenant: plane.ns, desktop: `${plane.ns}/${desktop}`,
      upstream: { host: vd.status!.console!.address!, port: vd.status!.console!.port!, password }, ttlMs: 60_000,
    });
    minted++;
    const vv = join(ARTIFACTS, 'console.vv');
    writeFileSync(vv, buildVvFile({ host: '127.0.0.1', port: gw.port, password: ticket, title: desktop, deleteThisFile: false }));
    viewer = await startViewer({ vvFile: vv, timeoutMs: 60_000 });
    await vi.waitFor(() => expect(gw.sessions.list({ desktop: `${plane.ns}/${desktop}` })).toHaveLength(1), poll);
    // The guest's console: the picture keeps changing (the counter, the cursor).
    const watch = viewer.watchChanges({ intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(watch.stop().changes.length).toBeGreaterThan(2);
    await viewer.screenshot(join(ARTIFACTS, 'before.png'));
  });

  it(`${MIGRATIONS} live migrations: the viewer follows every one, seamless at least ${MIGRATIONS - 1} times, on the same ticket`, async () => {
    const freezes: number[] = [];
    const seamlessBefore = events.filter((e) => e.event === 'session.migrated' && e.fields.path === 'seamless').length;
    for (let i = 1; i <= MIGRATIONS; i++) {
      const vd = await getVd();
      const target = plane.hostNames.find((h) => h !== vd.status?.host)!;
      const watch = viewer!.watchChanges({ intervalMs: 50 });
      const t0 = Date.now();
      await kubectl(['apply', '-n', plane.ns, '-f', '-'], migrationYaml(`gw-mig-${i}`, desktop, target));
      const m = await vi.waitFor(async () => {
        const o = await getMig(`gw-mig-${i}`);
        expect(o.status?.phase).toMatch(/Succeeded|Failed/);
        return o;
      }, poll);
      // Keep watching past the end so a picture that stopped would show as one long gap.
      await new Promise((r) => setTimeout(r, 2_500));
      const { changes } = watch.stop();
      expect(m.status?.phase, m.status?.conditions?.map((c) => c.message).join('; ')).toBe('Succeeded');
      const window = [t0, ...changes.filter((c) => c >= t0), Date.now()];
      const gap = Math.max(...window.slice(1).map((t, k) => t - window[k]!));
      freezes.push(gap);
      const after = changes.filter((c) => c > Date.parse(m.status!.endTime!));
      expect(after.length, `migration ${i}: the picture never changed after the move`).toBeGreaterThan(0);
      console.log(`migration ${i}: ${vd.status?.host} → ${target} in ${Date.now() - t0 - 2_500} ms, longest picture gap ${gap} ms, downtime ${m.status?.downtimeMs} ms`);
    }
    await viewer!.screenshot(join(ARTIFACTS, 'after.png'));
    const seamless = events.filter((e) => e.event === 'session.migrated' && e.fields.path === 'seamless').length - seamlessBefore;
    const fallback = events.filter((e) => e.event === 'session.migrated' && e.fields.path === 'fallback').length;
    const p50 = percentile(freezes, 50);
    const p95 = percentile(freezes, 95);
    console.log(`gateway migrations: ${seamless} seamless, ${fallback} fallback of ${MIGRATIONS}; picture gap p50 ${p50} ms, p95 ${p95} ms (the guest's counter ticks once a second, so ~1000 ms is no freeze)`);
    writeFileSync(join(ARTIFACTS, 'freeze.json'), JSON.stringify({ seamless, fallback, freezes, p50, p95 }, null, 2));
    expect(seamless).toBeGreaterThanOrEqual(MIGRATIONS - 1);
    expect(minted).toBe(1);
    // Still one session, on the guest's current host, and the viewer is alive.
    const vd = await getVd();
    const sessions = gw.sessions.list({ desktop: `${plane.ns}/${desktop}` });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.upstream).toBe(`${vd.status!.console!.address}:${vd.status!.console!.port}`);
    expect(viewer!.isAlive()).toBe(true);
  }, 30 * 60_000);
});
