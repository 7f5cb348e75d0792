import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { DependencyUnavailableError } from './errors';
import { ensureKubeBinaries, type KubeBinaries } from './kube-build';
import { freePort } from './ports';
import { generatePki, SERVICE_CIDR, writeKubeconfig, type KubePki } from './kube-pki';
import { isRunning, sleep, spawnDaemon, stopProcess, tail, type Log } from './process';
import type { KubeState, ProcessRef } from './state';

export { ensureKubeBinaries, KUBE_VERSION, type KubeBinaries } from './kube-build';

/** Debian packages startKube needs (certificates are made with the openssl CLI). */
export const KUBE_PACKAGES: readonly string[] = ['openssl'];

const ETCD_READY_TIMEOUT_MS = 30_000;
const APISERVER_READY_TIMEOUT_MS = 90_000;
const CHECK_TIMEOUT_MS = 5_000;

/**
 * Starts etcd and kube-apiserver on free loopback ports, waits for `/readyz` and writes a
 * cluster-admin kubeconfig. Each start is a clean cluster: the etcd data directory, the
 * certificates and the admin token are all new. On failure nothing is left running.
 */
export async function startKube(opts: { stateDir: string; cacheDir: string; log: Log }): Promise<KubeState> {
  const { log } = opts;
  const bins = await ensureKubeBinaries(opts.cacheDir, log);
  const dir = join(opts.stateDir, 'kube');
  await mkdir(dir, { recursive: true });
  const pki = await generatePki(join(dir, 'pki'));

  const etcd = await startEtcd(bins, dir, log);
  let apiserver: ProcessRef & { url: string };
  try {
    apiserver = await startApiserver(bins, dir, pki, etcd.endpoint, log);
  } catch (e) {
    await stopProcess(etcd);
    throw e;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, apiserver.url, pki.caFile, pki.adminToken);
  return {
    version: bins.version,
    etcd,
    apiserver,
    kubeconfig,
    adminToken: pki.adminToken,
    kubectl: bins.kubectl,
    caFile: pki.caFile,
  };
}

async function startEtcd(bins: KubeBinaries, dir: string, log: Log): Promise<KubeState['etcd']> {
  const dataDir = join(dir, 'etcd');
  await rm(dataDir, { recursive: true, force: true });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  log(`starting etcd on ${endpoint}`);
  const ref = spawnDaemon(
    bins.etcd,
    [
      '--name=testbed',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=testbed=${peer}`,
      // Throwaway test data: skipping fsync makes every apiserver write much faster on VM disks.
      '--unsafe-no-fsync=true',
    ],
    { logFile: join(dir, 'etcd.log'), match: `--data-dir=${dataDir}` },
  );
  const etcd = { ...ref, endpoint, dataDir };
  await waitReady('etcd', etcd, ETCD_READY_TIMEOUT_MS, async () => {
    const r = await get(`${endpoint}/health`, {}, 2_000);
    return r.status === 200 && r.body.includes('"health":"true"') ? null : `HTTP ${r.status}: ${r.body}`;
  });
  return etcd;
}

async function startApiserver(
  bins: KubeBinaries,
  dir: string,
  pki: KubePki,
  etcdEndpoint: string,
  log: Log,
): Promise<ProcessRef & { url: string }> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  log(`starting kube-apiserver ${bins.version} on ${url}`);
  const ref = spawnDaemon(bins.apiserver, apiserverArgs(port, pki, etcdEndpoint), {
    logFile: join(dir, 'kube-apiserver.log'),
    // The token file path is unique to this testbed instance (guards against pid reuse).
    match: `--token-auth-file=${pki.tokenFile}`,
  });
  const apiserver = { ...ref, url };
  const ca = readFileSync(pki.caFile);
  const started = Date.now();
  await waitReady('kube-apiserver', apiserver, APISERVER_READY_TIMEOUT_MS, () => readyzProblem(url, pki.adminToken, ca, 3_000));
  log(`kube-apiserver ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return apiserver;
}

function apiserverArgs(port: number, pki: KubePki, etcdEndpoint: string): string[] {
  return [
    `--etcd-servers=${etcdEndpoint}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--advertise-address=127.0.0.1',
    // The reconciler would publish 127.0.0.1 as the endpoint of the `kubernetes` Service,
    // which endpoint validation rejects (loopback) and then logs errors forever.
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caFile}`,
    `--token-auth-file=${pki.tokenFile}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=https://kubernetes.default.svc`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--profiling=false',
  ];
}

/** Stops kube-apiserver first (so it does not log etcd errors while dying), then etcd. */
export async function stopKube(state: KubeState): Promise<void> {
  await stopProcess(state.apiserver);
  await stopProcess(state.etcd);
}

/** Resolves when kube-apiserver answers `/readyz`; otherwise rejects within ~5 s, naming it. */
export async function checkKube(state: KubeState | undefined): Promise<void> {
  const part = 'kube-apiserver';
  if (!state) throw new DependencyUnavailableError(part, 'the testbed state has no kube section (was the testbed brought up with kube?)');
  if (!isRunning(state.apiserver)) {
    throw new DependencyUnavailableError(part, `process ${state.apiserver.pid} is not running; log ${state.apiserver.logFile}:\n${tail(state.apiserver.logFile, 10)}`);
  }
  if (!isRunning(state.etcd)) {
    throw new DependencyUnavailableError(part, `its etcd (pid ${state.etcd.pid}) is not running; log ${state.etcd.logFile}:\n${tail(state.etcd.logFile, 10)}`);
  }
  let ca: Buffer;
  try {
    ca = readFileSync(state.caFile);
  } catch (e) {
    throw new DependencyUnavailableError(part, `cannot read its CA ${state.caFile}: ${(e as Error).message}`);
  }
  const problem = await readyzProblem(state.apiserver.url, state.adminToken, ca, CHECK_TIMEOUT_MS).catch(
    (e: unknown) => (e instanceof Error && e.message) || String(e),
  );
  if (problem !== null) throw new DependencyUnavailableError(part, `${state.apiserver.url}/readyz: ${problem}`);
}

/** null when /readyz says ok, else why not. Rejects on network errors and timeouts. */
async function readyzProblem(url: string, token: string, ca: Buffer, timeoutMs: number): Promise<string | null> {
  const r = await get(`${url}/readyz`, { ca, headers: { authorization: `Bearer ${token}` } }, timeoutMs);
  return r.status === 200 ? null : `HTTP ${r.status}: ${r.body.trim().split('\n').filter((l) => !l.includes('ok')).join('; ')}`;
}

/**
 * Polls probe() (null = ready, string = why not) until ready; stops at once with the log
 * tail when the process dies, so a bad flag fails in a second, not after the timeout.
 */
async function waitReady(
  part: string,
  ref: ProcessRef,
  timeoutMs: number,
  probe: () => Promise<string | null>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (!isRunning(ref)) {
      throw new DependencyUnavailableError(part, `exited during startup; log ${ref.logFile}:\n${tail(ref.logFile, 25)}`);
    }
    const problem = await probe().catch((e: unknown) => (e instanceof Error && e.message) || String(e));
    if (problem === null) return;
    last = problem;
    if (Date.now() >= deadline) {
      await stopProcess(ref);
      throw new DependencyUnavailableError(
        part,
        `not ready after ${timeoutMs / 1000} s (last: ${last}); log ${ref.logFile}:\n${tail(ref.logFile, 25)}`,
      );
    }
    await sleep(250);
  }
}

/** GET with a hard overall deadline (a socket that accepts but never answers must not hang us). */
function get(
  url: string,
  opts: { ca?: Buffer; headers?: Record<string, string> },
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', ca: opts.ca, headers: opts.headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(e.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms`) : e));
    req.end();
  });
}
