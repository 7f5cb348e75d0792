/**
 * Two operator PROCESSES against the testbed's kube-apiserver: exactly one leads; SIGKILL
 * the leader and the other takes over (Lease expiry) within 15 s. Default lease settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadState } from '@deskplane/testbed';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { kubectl, kubectlJson } from './support/kubectl';

const ROOT = join(__dirname, '../../..');
const MAIN = join(ROOT, 'operators/desktop-operator/src/main.ts');
const run = randomBytes(3).toString('hex');
const lease = `deskplane-operator-le-${run}`;

interface OperatorProcess {
  child: ChildProcess;
  pid: number;
  lines: Array<Record<string, unknown>>;
  metricsUrl?: string;
  exited: Promise<number | null>;
}

function startOperator(): OperatorProcess {
  const state = loadState();
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DESKPLANE_OPERATOR_BACKEND: 'kubernetes',
      KUBECONFIG: state.kube!.kubeconfig,
      DESKPLANE_OPERATOR_REDIS_URL: state.redis!.url,
      DESKPLANE_OPERATOR_QUEUE_PREFIX: `le-${run}`,
      DESKPLANE_OPERATOR_LEASE_NAME: lease,
      DESKPLANE_OPERATOR_LEASE_NAMESPACE: 'default',
      // Nothing to reconcile: a namespace nobody uses, hosts nobody labels.
      DESKPLANE_OPERATOR_WATCH_NAMESPACE: `le-${run}-empty`,
      DESKPLANE_OPERATOR_HOST_SELECTOR: `deskplane.io/e2e-run=le-${run}`,
      DESKPLANE_OPERATOR_METRICS_LISTEN: '127.0.0.1:0',
    },
  });
  const p: OperatorProcess = { child, pid: child.pid!, lines: [], exited: new Promise((r) => child.on('exit', (code) => r(code))) };
  let buf = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        p.lines.push(o);
        if (typeof o.metricsUrl === 'string') p.metricsUrl = o.metricsUrl;
      } catch {
        /* not a log line */
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[operator ${child.pid}] ${chunk.toString()}`));
  return p;
}

async function leaderGauge(p: OperatorProcess): Promise<number | undefined> {
  if (!p.metricsUrl) return undefined;
  try {
    const text = await (await fetch(`${p.metricsUrl}/metrics`, { signal: AbortSignal.timeout(1_000) })).text();
    const m = /^deskplane_operator_leader (\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

describe('leader election between two operator processes', () => {
  const procs: OperatorProcess[] = [];

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      }
    }
    await kubectl(['delete', 'lease', lease, '-n', 'default', '--ignore-not-found']).catch(() => undefined);
  });

  it('exactly one leads; SIGKILL of the leader hands over within 15 s', async () => {
    procs.push(startOperator(), startOperator());
    await vi.waitFor(() => expect(procs.every((p) => p.metricsUrl)).toBe(true), { timeout: 60_000, interval: 200 });

    // Exactly one leader, and it stays that way.
    await vi.waitFor(async () => expect((await Promise.all(procs.map(leaderGauge))).sort()).toEqual([0, 1]), { timeout: 30_000, interval: 200 });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect((await Promise.all(procs.map(leaderGauge))).sort()).toEqual([0, 1]);
    }
    const gauges = await Promise.all(procs.map(leaderGauge));
    const leader = procs[gauges.indexOf(1)]!;
    const follower = procs[gauges.indexOf(0)]!;
    expect(leader.lines.some((l) => l.msg === 'became leader; starting workers')).toBe(true);
    expect(follower.lines.some((l) => l.msg === 'became leader; starting workers')).toBe(false);
    const held = await kubectlJson<{ spec: { holderIdentity: string } }>(['get', 'lease', lease, '-n', 'default']);
    expect(held.spec.holderIdentity).toMatch(new RegExp(`-${leader.pid}$`));

    const killedAt = Date.now();
    process.kill(leader.pid, 'SIGKILL');
    await vi.waitFor(async () => expect(await leaderGauge(follower)).toBe(1), { timeout: 30_000, interval: 100 });
    const takeoverMs = Date.now() - killedAt;
    console.log(`takeover after SIGKILL of the leader (pid ${leader.pid}): ${takeoverMs} ms`);
    expect(takeoverMs).toBeLessThan(15_000);
    const now = await kubectlJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>(['get', 'lease', lease, '-n', 'default']);
    expect(now.spec.holderIdentity).toMatch(new RegExp(`-${follower.pid}$`));

    // SIGTERM: the survivor stops cleanly and releases the lease.
    follower.child.kill('SIGTERM');
    expect(await follower.exited).toBe(0);
    const released = await kubectlJson<{ spec: { holderIdentity?: string } }>(['get', 'lease', lease, '-n', 'default']);
    expect(released.spec.holderIdentity ?? '').toBe('');
  });
});
