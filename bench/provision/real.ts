/**
 * The real path: two REAL host agents (LibvirtDriver) on the testbed's libvirtd hosts, the
 * real kube-apiserver, the operator and the orchestrator in-process, QEMU guests under TCG.
 * Desktops are `kubectl apply`d one at a time (latency, not contention); for each we take
 *
 *   apply→Running   kubectl apply started → the watch sees phase Running
 *   EnsureGuest     the agent's own duration of that RPC (its per-RPC log line): overlay + define
 *   StartGuest      the agent's own duration: `virsh start` until libvirt reports the domain
 *                   running — the guest's own boot as far as Running is concerned
 *   GetGuest        the agent's durations of the orchestrator's "is it running?" polls
 *   overhead        apply→Running − (EnsureGuest + StartGuest + GetGuest): what the control
 *                   plane itself costs (kubectl, API writes, watches, scheduling, queue, gRPC)
 *   OS boot         Running → the guest's first serial line ("deskplane-guest up"), read from
 *                   the serial log in the shared storage dir; AFTER Running, not inside it
 */
import { readFileSync } from 'node:fs';
import { createLogger, startHostAgent, type HostAgentConfig, type RunningHostAgent } from '@deskplane/host-agent';
import { kubectl } from '../../operators/desktop-operator/test/support/kubectl';
import { agentConfig, domainNames, serialLogOf } from '../../services/host-agent/test/support/agents';
import { testbedHosts } from '../../services/host-agent/test/support/testbed-hosts';
import { onInterrupt } from './interrupt';
import { desktopYaml, sleep, startBenchPlane, type BenchPlane } from './plane';

const GiB = 1024n ** 3n;

export interface RpcLine {
  method: string;
  uid?: string;
  code: string;
  durationMs: number;
}

export interface RealSample {
  name: string;
  uid: string;
  host: string;
  kubectlMs: number;
  applyToRunningMs: number;
  scheduledMs: number;
  ensureMs: number;
  startMs: number;
  getGuestMs: number;
  getGuestCalls: number;
  overheadMs: number;
  osBootMs: number;
}

export interface RealResult {
  samples: RealSample[];
  hosts: string[];
  /** kubectl delete → the watch sees it gone (deprovision done, finalizer released), per desktop. */
  cleanup: { deleteMs: number[]; domainsLeft: number; filesLeft: number };
}

/** Collects the agents' per-RPC log lines (pino JSON) in memory. */
class RpcLog {
  readonly lines: RpcLine[] = [];
  readonly stream = {
    write: (chunk: string): boolean => {
      for (const s of chunk.split('\n')) {
        if (!s) continue;
        try {
          const o = JSON.parse(s) as { msg?: string; method?: string; uid?: string; code?: string; durationMs?: number };
          if (o.msg === 'rpc' && o.method && typeof o.durationMs === 'number') this.lines.push({ method: o.method, code: o.code ?? '', durationMs: o.durationMs, ...(o.uid ? { uid: o.uid } : {}) });
        } catch {
          /* not JSON: ignore */
        }
      }
      return true;
    },
  } satisfies NonNullable<Parameters<typeof createLogger>[1]>;

  of(uid: string, method: string): RpcLine[] {
    return this.lines.filter((l) => l.uid === uid && l.method === method && l.code === 'OK');
  }
}

export async function runRealPath(o: { desktops: number; log: (s: string) => void }): Promise<RealResult> {
  const tb = testbedHosts({ runId: `bench-provision-${process.pid}` });
  if (tb.hosts.length < 2) throw new Error('the provision bench needs two testbed hosts ("testbed up --hosts 2")');
  const rpc = new RpcLog();
  const agents: RunningHostAgent[] = [];
  let plane: BenchPlane | undefined;
  const teardown = async (): Promise<void> => {
    await plane?.close();
    for (const a of agents) await a.close().catch(() => undefined);
    await tb.cleanup();
  };
  const unregister = onInterrupt(teardown);
  try {
    for (const h of tb.hosts.slice(0, 2)) {
      // Room for every bench guest on either host, whatever this machine's size.
      const over: Partial<HostAgentConfig> = { metricsListen: undefined, logLevel: 'info' };
      const config = agentConfig(tb, h, over);
      config.capacity = { ...config.capacity, override: { vcpus: 64, memoryBytes: 64n * GiB, diskBytes: 500n * GiB } };
      agents.push(await startHostAgent(config, undefined, { log: createLogger({ level: 'info', base: { host: h.host.name } }, rpc.stream) }));
    }
    plane = await startBenchPlane({ tag: 'bench-prov', backend: 'kubernetes', agents: agents.map((a) => ({ endpoint: `127.0.0.1:${a.port}` })) });
    const p = plane;
    const uriOf = (host: string): string => tb.hosts[p.hostNames.indexOf(host)]!.host.libvirtUri;
    o.log(`real path: namespace ${p.ns}, hosts ${p.hostNames.join(', ')} (${tb.hosts.map((h) => h.host.libvirtUri.split('?')[0]).join(', ')})`);

    const samples: RealSample[] = [];
    const deleteMs: number[] = [];
    let domainsLeft = 0;
    let filesLeft = 0;
    for (let i = 1; i <= o.desktops; i++) {
      const name = `vd-${String(i).padStart(3, '0')}`;
      const t0 = Date.now();
      await kubectl(['apply', '-n', p.ns, '-f', '-'], desktopYaml(name));
      const kubectlMs = Date.now() - t0;
      await p.phases.waitFor([name], 'Running', 180_000);
      const seen = p.phases.seen.get(name)!;
      const running = seen.phases.get('Running')!;
      const uid = seen.uid!;
      // The agent logs its RPC line just before replying; give the logger a tick.
      await sleep(20);
      const ensure = rpc.of(uid, 'EnsureGuest');
      const start = rpc.of(uid, 'StartGuest');
      const gets = rpc.of(uid, 'GetGuest');
      const ensureMs = ensure.reduce((a, l) => a + l.durationMs, 0);
      const startMs = start.reduce((a, l) => a + l.durationMs, 0);
      const getGuestMs = gets.reduce((a, l) => a + l.durationMs, 0);
      const osUp = await waitForSerial(serialLogOf(tb.storageDir, uid), 'deskplane-guest up', 120_000);
      const s: RealSample = {
        name,
        uid,
        host: seen.host ?? '?',
        kubectlMs,
        applyToRunningMs: running - t0,
        scheduledMs: (seen.phases.get('Provisioning') ?? Number.NaN) - t0,
        ensureMs,
        startMs,
        getGuestMs,
        getGuestCalls: gets.length,
        overheadMs: running - t0 - ensureMs - startMs - getGuestMs,
        osBootMs: osUp - running,
      };
      samples.push(s);
      o.log(
        `  ${name} on ${s.host}: apply→Running ${s.applyToRunningMs} ms (kubectl ${kubectlMs}, EnsureGuest ${ensureMs}, StartGuest ${startMs}, GetGuest ${getGuestMs}×${gets.length}, overhead ${s.overheadMs}); OS up ${s.osBootMs} ms after Running`,
      );
      // Delete it before the next one: on 2 cores under TCG an idle guest still costs
      // ~7 % CPU, so 19 running guests would measure TCG load, not the control plane.
      const td = Date.now();
      await kubectl(['delete', 'vd', name, '-n', p.ns, '--wait=false']);
      await p.phases.waitFor([name], 'gone', 120_000);
      deleteMs.push(Date.now() - td);
      filesLeft += [serialLogOf(tb.storageDir, uid), serialLogOf(tb.storageDir, uid).replace(/\.serial\.log$/, '.qcow2')].filter(exists).length;
    }
    // Whatever host: no domain of this run's desktops anywhere.
    for (const host of p.hostNames) {
      const left = await domainNames(uriOf(host));
      domainsLeft += samples.filter((x) => left.includes(`dp-${x.uid}`)).length;
    }
    o.log(`real path: every desktop deleted and gone; dp- domains of this run left on the hosts: ${domainsLeft}; disks/logs left: ${filesLeft}`);
    return { samples, hosts: p.hostNames, cleanup: { deleteMs, domainsLeft, filesLeft } };
  } finally {
    unregister();
    await teardown();
  }
}

function exists(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Date.now() when the file first contains the text (polled every 20 ms). */
async function waitForSerial(path: string, text: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (readFileSync(path, 'utf8').includes(text)) return Date.now();
    } catch {
      /* not created yet */
    }
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear in ${path} within ${timeoutMs} ms`);
    await sleep(20);
  }
}
