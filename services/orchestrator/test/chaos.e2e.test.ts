/**
 * Crash safety: the orchestrator runs as its own process (main.ts, env config) and is
 * SIGKILLed by pid in the middle of provisioning (right after the domain was defined) and
 * in the middle of a live migration (after the first progress tick). A new process picks
 * the job up again (BullMQ stalled-job detection, short locks here) and each desktop ends
 * Running on exactly one host (virsh on both), with no orphan disk.
 *
 * Then Redis itself (append-only persistence on, as in production) is restarted under the
 * same orchestrator process in the middle of a provisioning and of a live migration held
 * back by a bandwidth cap: ioredis and BullMQ reconnect, the job's lock and the migration
 * slot lease survive in the AOF, and both flows complete.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DesktopMigration, VirtualDesktop } from '@deskplane/api';
import { restartRedis } from '@deskplane/testbed';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { slotKeys } from '../src/slots';
import { desktopYaml, domains, filesOf, kubectl, kubectlJson, migrationYaml, ROOT, startPlane, templateYaml, type Plane } from './support/plane';

const poll = { timeout: 120_000, interval: 250 };
type LogLine = Record<string, unknown> & { msg?: string; desktop?: string };

class OrchestratorProcess {
  readonly lines: LogLine[] = [];
  private readonly child: ChildProcess;
  readonly exited: Promise<NodeJS.Signals | number | null>;

  constructor(env: Record<string, string>) {
    // One process (no npx/tsx wrapper in between), so the pid we kill is the orchestrator.
    this.child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'services/orchestrator/src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as LogLine);
      } catch {
        /* not a log line */
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (l) => process.stderr.write(`[orchestrator ${this.pid}] ${l}\n`));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(signal ?? code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitForLine(pred: (l: LogLine) => boolean, timeoutMs = 90_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; last: ${JSON.stringify(this.lines.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(this.pid, signal);
    await this.exited;
  }
}

describe('orchestrator chaos: SIGKILL mid-provision and mid-migration, Redis restarted mid-flow', () => {
  let plane: Plane;
  const procs: OrchestratorProcess[] = [];
  let env: Record<string, string>;
  const start = () => {
    const p = new OrchestratorProcess(env);
    procs.push(p);
    return p;
  };
  const getVd = (name: string) => kubectlJson<VirtualDesktop>(['get', 'vd', name, '-n', plane.ns]);

  /** Running on exactly one host according to virsh, that host is status.host, and only one disk. */
  async function expectRunningOnExactlyOneHost(name: string): Promise<VirtualDesktop> {
    const vd = await vi.waitFor(async () => {
      const o = await getVd(name);
      expect(o.status?.phase).toBe('Running');
      return o;
    }, poll);
    const dom = `dp-${vd.metadata.uid}`;
    const running = [];
    const defined = [];
    for (const h of plane.hostNames) {
      if ((await domains(plane.uriOf(h))).includes(dom)) running.push(h);
      if ((await domains(plane.uriOf(h), true)).includes(dom)) defined.push(h);
    }
    expect(running).toEqual([vd.status?.host]);
    expect(defined).toEqual([vd.status?.host]);
    expect(filesOf(plane.tb.storageDir, vd.metadata.uid!).filter((f) => f.endsWith('.qcow2'))).toHaveLength(1);
    return vd;
  }

  beforeAll(async () => {
    plane = await startPlane('orc-chaos');
    env = {
      DESKPLANE_ORCHESTRATOR_REDIS_URL: plane.redisUrl,
      DESKPLANE_ORCHESTRATOR_QUEUE_PREFIX: plane.prefix,
      DESKPLANE_ORCHESTRATOR_KUBECONFIG: plane.kubeconfig,
      DESKPLANE_ORCHESTRATOR_METRICS_LISTEN: 'off',
      DESKPLANE_ORCHESTRATOR_LOCK_DURATION_MS: '4000',
      DESKPLANE_ORCHESTRATOR_STALLED_INTERVAL_MS: '2000',
      DESKPLANE_ORCHESTRATOR_LOG_LEVEL: 'info',
      // Drift repair at its defaults, looking only after this run's hosts.
      DESKPLANE_ORCHESTRATOR_HOST_SELECTOR: `deskplane.io/e2e-run=${plane.run}`,
    };
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], templateYaml('busybox-small'));
  });

  afterAll(async () => {
    for (const p of procs) await p.kill().catch(() => undefined);
    await plane?.close();
  });

  it('killed right after the domain was defined: the restarted orchestrator finishes provisioning', async () => {
    const first = start();
    await first.waitForLine((l) => l.msg === 'orchestrator started');
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], desktopYaml('vd-p', 'busybox-small'));
    await first.waitForLine((l) => l.msg === 'guest defined' && l.desktop === `${plane.ns}/vd-p`);
    await first.kill();
    const killedAt = Date.now();
    expect((await getVd('vd-p')).status?.phase).not.toBe('Running');

    const second = start();
    await expectRunningOnExactlyOneHost('vd-p');
    console.log(`vd-p: Running ${Date.now() - killedAt} ms after the SIGKILL (orchestrator pid ${first.pid} → ${second.pid})`);
    expect(second.lines.some((l) => l.msg === 'job started' && l.desktop === `${plane.ns}/vd-p`)).toBe(true);
  });

  it('killed after the first migration progress tick: the desktop ends Running on exactly one host', async () => {
    const before = await getVd('vd-p');
    const target = plane.hostNames.find((h) => h !== before.status?.host)!;
    const runner = procs.at(-1)!;
    // A bandwidth cap stretches the migration over a few seconds, so the kill lands mid-flight.
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], migrationYaml('mig-p', 'vd-p', target, '{bandwidthMiBps: 8}'));
    await runner.waitForLine((l) => l.msg === 'migration progress' && l.desktop === `${plane.ns}/vd-p`);
    await runner.kill();
    const killedAt = Date.now();

    const next = start();
    const vd = await expectRunningOnExactlyOneHost('vd-p');
    const m = await vi.waitFor(async () => {
      const o = await kubectlJson<DesktopMigration>(['get', 'dmig', 'mig-p', '-n', plane.ns]);
      expect(o.status?.phase).toMatch(/Succeeded|Failed/);
      return o;
    }, poll);
    const path = [...new Set(next.lines.filter((l) => ['locate', 'follow', 'migrateGuest', 'succeeded'].includes(String(l.step))).map((l) => String(l.step)))].join(' → ');
    console.log(`mig-p: ${m.status?.phase} ${Date.now() - killedAt} ms after the SIGKILL; the restarted job took the path ${path}; desktop on ${vd.status?.host}`);
    expect(m.status?.phase).toBe('Succeeded');
    expect(vd.status?.host).toBe(target);
    // The label follows status.host (written right after it, before the migration's Succeeded).
    expect((await getVd('vd-p')).metadata.labels?.['deskplane.io/host']).toBe(target);

    // Clean delete afterwards: nothing left on either host.
    await kubectl(['delete', 'vd', 'vd-p', '-n', plane.ns, '--wait=false']);
    await vi.waitFor(async () => expect(await kubectl(['get', 'vd', 'vd-p', '-n', plane.ns, '--ignore-not-found'])).toBe(''), poll);
    for (const h of plane.hostNames) expect(await domains(plane.uriOf(h), true)).not.toContain(`dp-${vd.metadata.uid}`);
    expect(filesOf(plane.tb.storageDir, vd.metadata.uid!)).toEqual([]);
  });

  /** Restarts the testbed's Redis (same port, AOF) and says how long it was away. */
  async function bounceRedis(): Promise<number> {
    const t0 = Date.now();
    const { redis } = await restartRedis();
    expect(redis?.port).toBe(plane.redis.port);
    return Date.now() - t0;
  }

  async function deleteDesktop(name: string, uid: string): Promise<void> {
    await kubectl(['delete', 'vd', name, '-n', plane.ns, '--wait=false']);
    await vi.waitFor(async () => expect(await kubectl(['get', 'vd', name, '-n', plane.ns, '--ignore-not-found'])).toBe(''), poll);
    for (const h of plane.hostNames) expect(await domains(plane.uriOf(h), true)).not.toContain(`dp-${uid}`);
    expect(filesOf(plane.tb.storageDir, uid)).toEqual([]);
  }

  it('Redis restarted right after the domain was defined: the same orchestrator finishes provisioning', async () => {
    const runner = procs.at(-1)!;
    const from = runner.lines.length;
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], desktopYaml('vd-q', 'busybox-small'));
    await runner.waitForLine((l) => l.msg === 'guest defined' && l.desktop === `${plane.ns}/vd-q`);
    const awayMs = await bounceRedis();
    const vd = await expectRunningOnExactlyOneHost('vd-q');
    const after = runner.lines.slice(from);
    const done = after.find((l) => l.msg === 'job completed' && l.desktop === `${plane.ns}/vd-q` && l.action === 'provision');
    console.log(`vd-q: Redis away ${awayMs} ms after the define; Running on ${vd.status?.host}; the provision job ${done ? 'completed' : 'did not complete'} in the same process (pid ${runner.pid})`);
    await vi.waitFor(() => expect(runner.lines.slice(from).some((l) => l.msg === 'job completed' && l.desktop === `${plane.ns}/vd-q` && l.action === 'provision')).toBe(true), poll);
    expect(runner.lines.slice(from).filter((l) => l.msg === 'job started' && l.desktop === `${plane.ns}/vd-q`)).toHaveLength(1);
    await deleteDesktop('vd-q', vd.metadata.uid!);
  });

  it('Redis restarted in the middle of a live migration: the slot lease survives and the migration completes', async () => {
    const runner = procs.at(-1)!;
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], desktopYaml('vd-r', 'busybox-small'));
    const before = await expectRunningOnExactlyOneHost('vd-r');
    const source = before.status!.host!;
    const target = plane.hostNames.find((h) => h !== source)!;
    const from = runner.lines.length;
    // A cap keeps the migration running for several seconds around the restart (~15 s at 8 MiB/s).
    await kubectl(['apply', '-n', plane.ns, '-f', '-'], migrationYaml('mig-r', 'vd-r', target, '{bandwidthMiBps: 8}'));
    const tick = await runner.waitForLine((l) => l.msg === 'migration progress' && l.desktop === `${plane.ns}/vd-r`);
    const jobId = String(tick.jobId);
    const awayMs = await bounceRedis();

    // The lease was in the AOF: the same holder still has its slot after the restart.
    const redis = new Redis({ ...plane.redis, maxRetriesPerRequest: null });
    try {
      const keys = slotKeys(plane.prefix, source);
      const m = await kubectlJson<DesktopMigration>(['get', 'dmig', 'mig-r', '-n', plane.ns]);
      expect(m.status?.phase).toBe('Migrating');
      expect(await redis.zscore(keys.host, jobId)).not.toBeNull();
      expect(await redis.zscore(keys.global, jobId)).not.toBeNull();
    } finally {
      redis.disconnect();
    }

    const m = await vi.waitFor(async () => {
      const o = await kubectlJson<DesktopMigration>(['get', 'dmig', 'mig-r', '-n', plane.ns]);
      expect(o.status?.phase).toMatch(/Succeeded|Failed/);
      return o;
    }, poll);
    expect(m.status?.phase).toBe('Succeeded');
    const vd = await expectRunningOnExactlyOneHost('vd-r');
    expect(vd.status?.host).toBe(target);
    const mine = runner.lines.slice(from).filter((l) => l.migration === 'mig-r');
    await vi.waitFor(() => expect(runner.lines.slice(from).some((l) => l.migration === 'mig-r' && l.msg === 'job completed')).toBe(true), poll);
    const started = Date.parse(String(m.status?.startTime));
    const ended = Date.parse(String(m.status?.endTime));
    console.log(`mig-r: Redis away ${awayMs} ms mid-migration; Succeeded after ${ended - started} ms on ${vd.status?.host}; job runs in the same process: ${mine.filter((l) => l.msg === 'job started').length}`);
    expect(mine.filter((l) => l.msg === 'job started')).toHaveLength(1);
    expect(mine.filter((l) => l.slot === 'acquire')).toHaveLength(1);
    // Renewals after the restart found the lease still theirs.
    expect(mine.filter((l) => l.msg === 'migration slot lease lost')).toEqual([]);
    await deleteDesktop('vd-r', vd.metadata.uid!);
  });

  it('SIGTERM stops the orchestrator cleanly (exit 0)', async () => {
    const p = procs.at(-1)!;
    await p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
