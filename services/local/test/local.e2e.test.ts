import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadState } from '@deskplane/testbed';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../../..');

/** Runs the local run's entry point until every desktop is Running (it exits then). */
function runLocal(dataDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['--conditions=source', join(ROOT, 'services/local/src/main.ts')], {
      // Drift repair off: this run shares the testbed's hosts with other suites' guests.
      env: { ...process.env, DESKPLANE_LOCAL_DIR: dataDir, DESKPLANE_LOCAL_EXIT_WHEN_RUNNING: '1', DESKPLANE_ORCHESTRATOR_DRIFT_INTERVAL_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const virsh = (uri: string, args: string[]): Promise<string> =>
  new Promise((resolve) => execFile('virsh', ['-q', '-c', uri, ...args], (_e, stdout) => resolve(stdout)));

describe('the one-command local run', () => {
  const state = loadState();
  // Under the testbed's state dir: every simulated host sees it at the same path.
  const dataDir = join(state.stateDir, `local-e2e-${randomBytes(3).toString('hex')}`);

  afterAll(async () => {
    // Remove the demo guest this run made (its disk lives in dataDir).
    for (const h of state.hosts) {
      for (const name of (await virsh(h.libvirtUri, ['list', '--all', '--name'])).split('\n').map((s) => s.trim()).filter(Boolean)) {
        const xml = await virsh(h.libvirtUri, ['dumpxml', '--inactive', name]);
        if (!xml.includes(dataDir)) continue;
        await virsh(h.libvirtUri, ['destroy', name]);
        await virsh(h.libvirtUri, ['undefine', name]);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the demo desktop and shows it running, then finds it again on a second start', async () => {
    const first = await runLocal(dataDir);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('created VirtualDesktop demo/demo-desktop');
    expect(first.out).toMatch(/demo\/demo-desktop\s+Running\s+host-\d\s+spice:\/\/127\.0\.\d+\.\d+:\d+/);
    expect(readdirSync(join(dataDir, 'storage')).some((f) => f.endsWith('.qcow2'))).toBe(true);

    const second = await runLocal(dataDir);
    expect(second.code, second.out).toBe(0);
    expect(second.out).not.toContain('created VirtualDesktop');
    expect(second.out).toMatch(/demo\/demo-desktop\s+Running/);
    expect(existsSync(join(dataDir, 'store', 'store.jsonl'))).toBe(true);
  });
});
