import { run } from './process';

/**
 * virsh against one host, always with a deadline: a wedged libvirtd must surface as an
 * error, never as a hung test. Returns trimmed stdout.
 */
export async function virsh(uri: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await run('virsh', ['-q', '-c', uri, ...args], { timeoutMs });
  return stdout.trim();
}

export const libvirtUriFor = (socket: string): string => `qemu+unix:///system?socket=${socket}`;

/** Names of the domains on a host (running only, or all defined). */
export async function listDomains(uri: string, opts: { all?: boolean; timeoutMs?: number } = {}): Promise<string[]> {
  const out = await virsh(uri, ['list', '--name', ...(opts.all ? ['--all'] : [])], opts.timeoutMs ?? 10_000);
  return out.split('\n').map((s) => s.trim()).filter(Boolean);
}
