import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DependencyUnavailableError } from './errors';
import { run, type Log } from './process';

/**
 * The one Kubernetes version the testbed runs. testbed/kube-build/go.mod is generated from
 * it by kube-build/generate-go-mod.sh (which reads this line: keep its shape).
 */
export const KUBE_VERSION = 'v1.34.4';

export interface KubeBinaries {
  apiserver: string;
  kubectl: string;
  etcd: string;
  version: string;
}

/** The wrapper Go module; the same relative path from src/ (tsx, vitest) and dist/ (tsc). */
const KUBE_BUILD_DIR = join(__dirname, '..', 'kube-build');
const BUILD_TIMEOUT_MS = 60 * 60_000;
/** Written after every binary is in place: its presence is what makes the cache valid. */
const STAMP = 'build.json';

const BINARIES = [
  { name: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  { name: 'kubectl', pkg: 'k8s.io/kubernetes/cmd/kubectl' },
  { name: 'etcd', pkg: './cmd/etcd' },
] as const;

/**
 * Builds kube-apiserver, kubectl and etcd once per version into `<cacheDir>/kube/<version>/`
 * and returns their paths. A warm call only checks that the stamp file exists.
 */
export async function ensureKubeBinaries(cacheDir: string, log: Log): Promise<KubeBinaries> {
  const dir = join(cacheDir, 'kube', KUBE_VERSION);
  const bins: KubeBinaries = {
    apiserver: join(dir, 'kube-apiserver'),
    kubectl: join(dir, 'kubectl'),
    etcd: join(dir, 'etcd'),
    version: KUBE_VERSION,
  };
  if (isComplete(dir)) return bins;

  assertGoModMatchesVersion();
  const go = findGo();
  log(`building kube-apiserver, kubectl and etcd ${KUBE_VERSION} into ${dir} (first run: several minutes)`);
  const started = Date.now();
  const kubeDir = join(cacheDir, 'kube');
  await mkdir(kubeDir, { recursive: true });
  await removeAbandonedBuilds(kubeDir);
  // Built beside the final directory (same filesystem) so the renames below are atomic;
  // a build killed halfway leaves only this tmp directory, never a stamped cache.
  const tmp = await mkdtemp(join(kubeDir, `.build-${KUBE_VERSION}-${process.pid}-`));
  const ticker = setInterval(
    () => log(`  still building kube binaries (${Math.round((Date.now() - started) / 60_000)} min)`),
    60_000,
  );
  try {
    await goBuild(go, tmp, goEnv(cacheDir));
    await mkdir(dir, { recursive: true });
    for (const b of BINARIES) await rename(join(tmp, b.name), join(dir, b.name));
    const stamp = { version: KUBE_VERSION, builtAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000 };
    await writeFile(join(dir, `${STAMP}.tmp`), JSON.stringify(stamp, null, 2) + '\n');
    await rename(join(dir, `${STAMP}.tmp`), join(dir, STAMP));
  } finally {
    clearInterval(ticker);
    await rm(tmp, { recursive: true, force: true });
  }
  log(`built kube binaries ${KUBE_VERSION} in ${Math.round((Date.now() - started) / 1000)} s`);
  return bins;
}

function isComplete(dir: string): boolean {
  return existsSync(join(dir, STAMP)) && BINARIES.every((b) => existsSync(join(dir, b.name)));
}

/** Tmp dirs of builds whose process died (SIGKILL skips our cleanup); ~200 MB each. */
async function removeAbandonedBuilds(kubeDir: string): Promise<void> {
  for (const name of await readdir(kubeDir)) {
    const pid = Number(/^\.build-.+-(\d+)-[^-]+$/.exec(name)?.[1]);
    if (pid && !pidAlive(pid)) await rm(join(kubeDir, name), { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A go.mod generated for another version would silently build the wrong binaries. */
function assertGoModMatchesVersion(): void {
  const goMod = join(KUBE_BUILD_DIR, 'go.mod');
  let text: string;
  try {
    text = readFileSync(goMod, 'utf8');
  } catch (e) {
    throw new DependencyUnavailableError('kube-apiserver build', `cannot read ${goMod}: ${(e as Error).message}`);
  }
  if (!text.includes(`from k8s.io/kubernetes@${KUBE_VERSION}.`)) {
    throw new DependencyUnavailableError(
      'kube-apiserver build',
      `${goMod} was not generated for ${KUBE_VERSION}; run testbed/kube-build/generate-go-mod.sh ${KUBE_VERSION}`,
    );
  }
}

function findGo(): string {
  const candidates = [
    ...(process.env.PATH ?? '').split(':').filter(Boolean).map((d) => join(d, 'go')),
    '/usr/local/go/bin/go',
  ];
  const go = candidates.find((p) => existsSync(p));
  if (!go) throw new DependencyUnavailableError('Go toolchain', 'no `go` in PATH or /usr/local/go/bin (needed to build kube-apiserver)');
  return go;
}

function goEnv(cacheDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Our own build cache, next to the binaries: warm rebuilds are no-ops and wiping the
    // testbed cache wipes it too. Module downloads stay in the shared GOMODCACHE.
    GOCACHE: join(cacheDir, 'go', 'build'),
    // Upstream ships the server binaries static; this also avoids needing a C compiler.
    CGO_ENABLED: '0',
    // Never fetch another toolchain mid-test; use the installed one.
    GOTOOLCHAIN: 'local',
  };
}

async function goBuild(go: string, outDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  // The same version stamps upstream's hack/lib/version.sh sets, so `/version` and
  // `kubectl version` report the real version instead of v0.0.0-master.
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(KUBE_VERSION) ?? [];
  const stamps = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((p) => [
    `-X ${p}.gitVersion=${KUBE_VERSION}`,
    `-X ${p}.gitMajor=${major}`,
    `-X ${p}.gitMinor=${minor}`,
    `-X ${p}.gitTreeState=clean`,
  ]);
  const args = ['build', '-trimpath', `-ldflags=-s -w ${stamps.join(' ')}`, '-o', outDir + '/', ...BINARIES.map((b) => b.pkg)];
  await run(go, args, { cwd: KUBE_BUILD_DIR, env, timeoutMs: BUILD_TIMEOUT_MS });
}
