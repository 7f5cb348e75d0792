import { run, type Log } from './process';

/** Debian packages are not installed yet (dpkg's view, no network needed). */
export async function missingPackages(pkgs: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of pkgs) {
    try {
      const { stdout } = await run('dpkg-query', ['-W', '-f=${Status}', p]);
      if (!stdout.includes('install ok installed')) missing.push(p);
    } catch {
      missing.push(p);
    }
  }
  return missing;
}

/**
 * Installs what is missing with apt-get (root only). Services that packages would start
 * on their own (redis, libvirtd) are kept from starting: the testbed runs its own.
 */
export async function ensureDebianPackages(pkgs: readonly string[], log: Log): Promise<void> {
  const missing = await missingPackages(pkgs);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(' ')}; run as root or install them: apt-get install ${missing.join(' ')}`);
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  await run('apt-get', ['update', '-q'], { env });
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
}
