/**
 * The .vv file's life on disk and the viewer process, with real files and real processes
 * (small shell scripts standing where remote-viewer would: what they see is what a viewer sees).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CliError } from './errors';
import { detachViewer, makeSecretFile, runViewer, writeSecretFile } from './viewer';

const base = mkdtempSync(join(tmpdir(), 'kd-viewer-test-'));
const VV = '[virt-viewer]\ntype=spice\nhost=gw\nport=5900\npassword=ticket-secret\ndelete-this-file=1\n';
const pids: number[] = [];
const notes: string[] = [];

/** An executable script; `$1` is the .vv file, as for remote-viewer. */
function script(name: string, body: string): string {
  const file = join(base, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}
const mode = (p: string) => statSync(p).mode & 0o777;
const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('kubectl-desktop-'));

afterEach(() => {
  notes.length = 0;
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid);
    } catch {
      // already gone
    }
  }
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('the .vv file', () => {
  it('is 0600 in a fresh 0700 directory, and removed with it', async () => {
    const s = await makeSecretFile('alice-dev', VV, base);
    expect(s.file).toBe(join(s.dir, 'alice-dev.vv'));
    expect(mode(s.dir)).toBe(0o700);
    expect(mode(s.file)).toBe(0o600);
    expect(readFileSync(s.file, 'utf8')).toBe(VV);
    await s.remove();
    await s.remove();
    expect(existsSync(s.dir)).toBe(false);
  });

  it('--save makes an existing file 0600 before writing the ticket into it', async () => {
    const file = join(base, 'saved.vv');
    writeFileSync(file, 'old', { mode: 0o644 });
    await writeSecretFile(file, VV);
    expect(mode(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(VV);
  });

  it('--save does not follow a symlink planted at the target', async () => {
    const { symlinkSync } = await import('node:fs');
    const link = join(base, 'link.vv');
    symlinkSync(join(base, 'elsewhere'), link);
    await expect(writeSecretFile(link, VV)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(existsSync(join(base, 'elsewhere'))).toBe(false);
  });
});

describe('the viewer in the foreground', () => {
  it('gets the file (0600, the ticket inside), and its exit code is passed on; the file is gone after', async () => {
    const out = join(base, 'seen');
    const viewer = script('fg-viewer', `stat -c %a "$1" > "${out}"; grep -c ticket-secret "$1" >> "${out}"; exit 7`);
    const secret = await makeSecretFile('alice-dev', VV, base);
    const code = await runViewer({ argv: [viewer], secret, env: { PATH: process.env.PATH, DISPLAY: ':99' }, note: (l) => notes.push(l) });
    expect(code).toBe(7);
    expect(readFileSync(out, 'utf8').split('\n').slice(0, 2)).toEqual(['600', '1']);
    expect(existsSync(secret.dir)).toBe(false);
    expect(notes).toEqual([]);
  });

  it('passes extra viewer words before the file, and hints at DISPLAY when the viewer fails without one', async () => {
    const out = join(base, 'args');
    const viewer = script('args-viewer', `echo "$1|$(basename "$2")" > "${out}"; exit 1`);
    const secret = await makeSecretFile('alice-dev', VV, base);
    expect(await runViewer({ argv: [viewer, '--full-screen'], secret, env: { PATH: process.env.PATH }, note: (l) => notes.push(l) })).toBe(1);
    expect(readFileSync(out, 'utf8').trim()).toBe('--full-screen|alice-dev.vv');
    expect(notes).toEqual([expect.stringMatching(/exited with code 1 and no DISPLAY is set: .*--save FILE/)]);
  });

  it('reports a viewer killed by a signal as 128+N', async () => {
    const secret = await makeSecretFile('alice-dev', VV, base);
    expect(await runViewer({ argv: [script('killed', 'kill -TERM $$')], secret, env: {}, note: () => undefined })).toBe(143);
    expect(existsSync(secret.dir)).toBe(false);
  });

  it('a viewer that cannot start: install hint, and no file left', async () => {
    const secret = await makeSecretFile('alice-dev', VV, base);
    const run = runViewer({ argv: [join(base, 'no-such-viewer')], secret, env: {}, note: () => undefined });
    await expect(run).rejects.toThrow(CliError);
    await expect(run).rejects.toThrow(/not found: install virt-viewer/);
    expect(existsSync(secret.dir)).toBe(false);
  });
});

describe('the viewer detached', () => {
  it('returns 0 once the viewer has read and deleted the file, and removes the empty directory', async () => {
    const pidFile = join(base, 'detached.pid');
    // As remote-viewer with delete-this-file=1: read, delete, keep running.
    const viewer = script('bg-viewer', `echo $$ > "${pidFile}"; cat "$1" > /dev/null; rm -f "$1"; exec sleep 30`);
    const secret = await makeSecretFile('alice-dev', VV, base);
    const started = Date.now();
    expect(await detachViewer({ argv: [viewer], secret, env: {}, note: (l) => notes.push(l) })).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    pids.push(pid);
    expect(() => process.kill(pid, 0)).not.toThrow(); // still running on its own
    expect(existsSync(secret.dir)).toBe(false);
    expect(notes).toEqual([`${viewer} started (pid ${pid})`]);
  });

  it('a viewer that dies at once is a failure, and its file is removed', async () => {
    const secret = await makeSecretFile('alice-dev', VV, base);
    const run = detachViewer({ argv: [script('dies', 'exit 3')], secret, env: {}, note: () => undefined });
    await expect(run).rejects.toThrow(/exited at once with code 3 \(no DISPLAY is set\): run the command without --detach/);
    expect(existsSync(secret.dir)).toBe(false);
    expect(leftovers(base)).toEqual([]);
  });
});
