import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DependencyUnavailableError } from './errors';
import { hostProcesses, mountsReferencing, namespacesOf, type HostIdentity } from './host-processes';
import { hostLayout, hostUuidFor, libvirtdConf, qemuConf } from './libvirt-config';
import { isRunning, sleep, spawnDaemon, stopProcess, tail, waitFor, type Log } from './process';
import type { HostState } from './state';
import { libvirtUriFor, listDomains, virsh } from './virsh';

const LIBVIRTD = '/usr/sbin/libvirtd';
const START_TIMEOUT_MS = 30_000;
const CHECK_TIMEOUT_MS = 4_000;

export interface StartHostOptions {
  /** N of host-N; picks the loopback address 127.0.1.N and the host's port ranges. */
  index: number;
  name: string;
  address: string;
  stateDir: string;
  log: Log;
}

const part = (name: string): string => `libvirtd of ${name}`;
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Starts one simulated KVM host: a real libvirtd in its own mount + UTS namespace with
 * private bind mounts over libvirt's system dirs, its own hostname and host UUID. Its
 * socket lives in the host's state dir, so it is reachable from the root namespace and
 * from every other host's libvirtd (peer-to-peer migration).
 */
export async function startHost(opts: StartHostOptions): Promise<HostState> {
  const L = hostLayout(opts.stateDir, opts.name);
  if (!existsSync(LIBVIRTD)) {
    throw new DependencyUnavailableError(part(opts.name), `${LIBVIRTD} is missing; install libvirt-daemon-system`);
  }
  const previous = hostProcesses({ root: L.root, libvirtdMatch: L.libvirtdConf });
  if (previous.length > 0) {
    throw new DependencyUnavailableError(
      part(opts.name),
      `cannot start: pid(s) ${previous.join(', ')} of an earlier ${part(opts.name)} still run on ${L.root}; stop them first ("testbed down")`,
    );
  }
  for (const b of L.binds) mkdirSync(b.source, { recursive: true });
  mkdirSync(L.imagesDir, { recursive: true });
  chmodSync(L.root, 0o700);
  // A crashed run leaves a pid file and socket behind; libvirtd would refuse to start.
  rmSync(L.runDir, { recursive: true, force: true });
  mkdirSync(L.runDir, { recursive: true });

  seedCapabilitiesCache(opts.stateDir, L.root, opts.log);

  const hostUuid = hostUuidFor(L.root);
  const hostname = `deskplane-${opts.name}`;
  writeFileSync(L.libvirtdConf, libvirtdConf({ hostUuid }));
  writeFileSync(L.qemuConf, qemuConf({ address: opts.address, index: opts.index }));

  const script = [
    'set -e',
    ...L.binds.map((b) => `mkdir -p ${b.target} && mount --bind ${quote(b.source)} ${b.target}`),
    `hostname ${hostname}`,
    `exec ${LIBVIRTD} -f ${quote(L.libvirtdConf)} -p /run/libvirt/libvirtd.pid`,
  ].join('\n');
  const started = Date.now();
  writeFileSync(L.logFile, `--- ${new Date().toISOString()} starting ${part(opts.name)}\n`, { flag: 'a' });
  // Without --fork, unshare execs sh, which execs libvirtd: the pid we get is libvirtd's.
  const ref = spawnDaemon('unshare', ['--mount', '--uts', '--propagation', 'private', 'sh', '-c', script], {
    logFile: L.logFile,
    match: L.libvirtdConf,
  });
  const uri = libvirtUriFor(L.socket);
  try {
    await waitFor(
      `${part(opts.name)} to answer on ${L.socket}`,
      async () => {
        if (!isRunning(ref)) throw new Error(`${part(opts.name)} exited during start`);
        if (!existsSync(L.socket)) return false;
        await virsh(uri, ['version'], CHECK_TIMEOUT_MS);
        return true;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
    );
  } catch (e) {
    await stopProcess(ref, 2_000).catch(() => undefined);
    throw new DependencyUnavailableError(
      part(opts.name),
      `did not start: ${(e as Error).message}\n--- tail of ${L.logFile}:\n${tail(L.logFile, 30)}`,
    );
  }
  const ns = namespacesOf(ref.pid);
  opts.log(`${opts.name} (${hostname}, ${opts.address}) libvirtd pid ${ref.pid} up in ${Date.now() - started} ms: ${uri}`);
  return {
    name: opts.name,
    hostname,
    address: opts.address,
    libvirtd: ref,
    libvirtUri: uri,
    socket: L.socket,
    root: L.root,
    imagesDir: L.imagesDir,
    hostUuid,
    utsNamespace: ns.uts,
    mntNamespace: ns.mnt,
  };
}

/**
 * libvirtd probes every QEMU binary at start (x86_64 and i386, ~4 s each under TCG here)
 * and caches the result in /var/cache/libvirt/qemu/capabilities. All hosts run the same
 * QEMU on the same machine, so any sibling's cache is valid, also one of another testbed
 * instance; libvirtd re-probes by itself if it is stale (it checks the binary's ctime and
 * its own version) and writes the cache by rename, so a copy never sees half a file.
 */
function seedCapabilitiesCache(stateDir: string, root: string, log: Log): void {
  const rel = join('cache', 'qemu', 'capabilities');
  const own = join(root, rel);
  if (existsSync(own)) return;
  const hostDirsOf = (instanceDir: string): string[] => {
    try {
      return readdirSync(join(instanceDir, 'hosts')).map((n) => join(instanceDir, 'hosts', n, rel));
    } catch {
      return [];
    }
  };
  let instances: string[] = [];
  try {
    instances = readdirSync(dirname(stateDir)).map((n) => join(dirname(stateDir), n));
  } catch {
    /* no parent listing: own instance only */
  }
  const candidates = [...hostDirsOf(stateDir), ...instances.filter((d) => d !== stateDir).flatMap(hostDirsOf)];
  const source = candidates.find((d) => d !== own && existsSync(d) && readdirSync(d).some((f) => f.endsWith('.xml')));
  if (!source) return;
  cpSync(source, own, { recursive: true });
  log(`seeded QEMU capabilities cache of ${root} from ${source}`);
}

/**
 * Throws DependencyUnavailableError within a few seconds when the host's libvirtd is dead
 * or does not answer; never hangs (virsh runs under a deadline).
 */
export async function checkHost(h: HostState | undefined): Promise<void> {
  if (!h) throw new DependencyUnavailableError('libvirtd', 'no KVM host in the testbed state; run "testbed up"');
  const name = part(h.name);
  if (!isRunning(h.libvirtd)) {
    throw new DependencyUnavailableError(name, `pid ${h.libvirtd.pid} is not running; last log lines:\n${tail(h.libvirtd.logFile, 10)}`);
  }
  if (!existsSync(h.socket)) throw new DependencyUnavailableError(name, `socket ${h.socket} is missing`);
  try {
    await virsh(h.libvirtUri, ['version'], CHECK_TIMEOUT_MS);
  } catch (e) {
    throw new DependencyUnavailableError(name, `does not answer on ${h.socket}: ${(e as Error).message}`);
  }
}

/**
 * Stops a host completely: destroys its domains (through libvirt while it answers), stops
 * libvirtd, then kills by pid whatever still runs in its namespaces (QEMUs of a dead
 * libvirtd). Once the last process is gone the mount namespace and its bind mounts go too;
 * this is verified, not assumed.
 */
export async function stopHost(h: HostState, log: Log = () => undefined): Promise<void> {
  const name = part(h.name);
  const id: HostIdentity = { root: h.root, libvirtdMatch: h.libvirtd.match, utsNamespace: h.utsNamespace, mntNamespace: h.mntNamespace };
  if (isRunning(h.libvirtd) && existsSync(h.socket)) {
    try {
      for (const dom of await listDomains(h.libvirtUri, { timeoutMs: 5_000 })) {
        await virsh(h.libvirtUri, ['destroy', dom], 30_000).catch((e: Error) => log(`${h.name}: destroy ${dom}: ${e.message}`));
      }
    } catch (e) {
      log(`${h.name}: cannot list domains (${(e as Error).message}); killing its processes instead`);
    }
  }
  await stopProcess(h.libvirtd, 10_000);

  const leftovers = hostProcesses(id);
  for (const pid of leftovers) {
    log(`${h.name}: killing leftover pid ${pid}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  await waitFor(`every process of ${h.name} to exit`, () => hostProcesses(id).length === 0, { timeoutMs: 10_000 });

  // The kernel tears a namespace's mounts down as its last process exits; give it a moment.
  for (let i = 0; i < 50 && mountsReferencing(h.root).length > 0; i++) await sleep(100);
  const stuck = mountsReferencing(h.root);
  if (stuck.length > 0) {
    throw new Error(`${name} stopped but mounts of ${h.root} remain in pids ${stuck.map((s) => s.pid).join(', ')}: ${stuck[0]?.line ?? ''}`);
  }
}
