import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureWebConsole, webConsoleDir, webConsoleStale } from './web-console';

describe('web console staleness', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function layout(): void {
    dir = mkdtempSync(join(tmpdir(), 'deskplane-wc-'));
    mkdirSync(join(dir, 'src', 'portal'), { recursive: true });
    writeFileSync(join(dir, 'src', 'portal', 'a.tsx'), 'x');
    writeFileSync(join(dir, 'index.html'), 'x');
  }
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  it('is stale without a build, fresh after one, stale again when a nested source changes', () => {
    layout();
    expect(webConsoleStale(dir)).toBe(true);
    for (const p of [join(dir, 'src', 'portal', 'a.tsx'), join(dir, 'src', 'portal'), join(dir, 'src'), join(dir, 'index.html')]) at(p, 1000);
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'index.html'), 'built');
    at(join(dir, 'dist', 'index.html'), 2000);
    expect(webConsoleStale(dir)).toBe(false);
    at(join(dir, 'src', 'portal', 'a.tsx'), 3000);
    expect(webConsoleStale(dir)).toBe(true);
  });

  it('finds the repository’s web-console from its own folder', () => {
    dir = mkdtempSync(join(tmpdir(), 'deskplane-wc-'));
    expect(webConsoleDir(__dirname)).toMatch(/web-console$/);
    expect(webConsoleDir(dir)).toBeUndefined();
  });

  it('says why and returns undefined when the build fails', async () => {
    layout();
    // A folder outside the repository: no vite next to it, so the build cannot run.
    writeFileSync(join(dir, 'index.html'), '<script type="module" src="/src/missing.tsx"></script>');
    const lines: string[] = [];
    expect(await ensureWebConsole((m) => lines.push(m), dir)).toBeUndefined();
    expect(lines.join('\n')).toMatch(/did not build/);
  });
});
