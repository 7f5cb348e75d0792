/**
 * The cut CLI end to end, on temporary repositories: a copy of this repository's manifests,
 * lock file and CHANGELOG (plus a Chart.yaml fixture, since the chart may not exist yet),
 * and small made-up ones for the refusals.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listWorkspaces, readManifest } from './images';

const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const temps: string[] = [];
afterAll(() => temps.forEach((t) => rmSync(t, { recursive: true, force: true })));

const cut = (root: string, ...args: string[]) => spawnSync(process.execPath, [TSX, join(__dirname, 'cut.ts'), ...args, '--root', root], { encoding: 'utf8', timeout: 30_000 });

const CHART = `apiVersion: v2
name: deskplane
description: Deskplane on a cluster
type: application
# version and appVersion move together (release/README.md)
version: 0.1.0
appVersion: "0.1.0"
`;

/** This repository's release-relevant files, copied. */
function copyOfRepository(withChart: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'cut-repo-'));
  temps.push(dir);
  for (const f of ['package.json', 'package-lock.json', 'CHANGELOG.md', ...listWorkspaces(ROOT).map((w) => `${w.dir}/package.json`)]) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  if (withChart) {
    mkdirSync(join(dir, 'charts/deskplane'), { recursive: true });
    writeFileSync(join(dir, 'charts/deskplane/Chart.yaml'), CHART);
  }
  return dir;
}

/** A made-up two-workspace repository at 0.3.0 with one Unreleased entry. */
function smallRepository(changelogBody = '### Fixed\n- A bug.\n'): string {
  const dir = mkdtempSync(join(tmpdir(), 'cut-small-'));
  temps.push(dir);
  const w = (path: string, value: unknown): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');
  };
  w('package.json', { name: 'small', version: '0.3.0', workspaces: ['libs/*'] });
  w('libs/a/package.json', { name: '@s/a', version: '0.3.0' });
  w('libs/b/package.json', { name: '@s/b', version: '0.3.0', dependencies: { '@s/a': '0.3.0' } });
  w('package-lock.json', {
    name: 'small',
    version: '0.3.0',
    lockfileVersion: 3,
    packages: { '': { name: 'small', version: '0.3.0', workspaces: ['libs/*'] }, 'libs/a': { name: '@s/a', version: '0.3.0' }, 'libs/b': { name: '@s/b', version: '0.3.0', dependencies: { '@s/a': '0.3.0' } } },
  });
  w('CHANGELOG.md', `# Changelog\n\n## [Unreleased]\n\n${changelogBody}\n## [0.3.0] - 2026-01-01\n\n### Added\n- Things.\n`);
  return dir;
}

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.set(relative(dir, join(d, e.name)), readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(dir);
  return out;
}

const internalRanges = (m: Record<string, unknown>): string[] =>
  ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'].flatMap((f) => Object.entries((m[f] ?? {}) as Record<string, string>).filter(([n]) => n.startsWith('@deskplane/')).map(([, r]) => r));

describe('cut on a copy of this repository', () => {
  it('--dry-run prints the plan and writes nothing', () => {
    const repo = copyOfRepository(true);
    const before = snapshot(repo);
    const r = cut(repo, '0.2.0', '--date', '2026-12-01', '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Would release 0\.2\.0 \(from 0\.1\.0\), dated 2026-12-01\./);
    expect(r.stdout).toContain('charts/deskplane/Chart.yaml:\n  version 0.1.0 → 0.2.0\n  appVersion 0.1.0 → 0.2.0');
    expect(r.stdout).toContain('  ## [0.2.0] - 2026-12-01');
    expect(r.stdout).not.toContain('Next steps');
    expect(snapshot(repo)).toEqual(before);
  });

  it('bumps every version in lockstep, moves the changelog, prints the next steps; a second cut of the same version is refused', () => {
    const repo = copyOfRepository(true);
    const unreleased = readFileSync(join(repo, 'CHANGELOG.md'), 'utf8');
    const r = cut(repo, '0.2.0', '--date', '2026-12-01');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('git tag -a v0.2.0');
    expect(r.stdout).toContain('release/build-images --push');
    expect(r.stdout).toContain('helm package charts/deskplane');

    const workspaces = listWorkspaces(repo);
    expect(workspaces.length).toBeGreaterThanOrEqual(13);
    expect(readManifest(join(repo, 'package.json')).version).toBe('0.2.0');
    for (const w of workspaces) {
      expect(w.manifest.version, w.dir).toBe('0.2.0');
      for (const range of internalRanges(w.manifest as unknown as Record<string, unknown>)) expect(range, w.dir).toMatch(/^[\^~]?0\.2\.0$/);
    }
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { version: string; packages: Record<string, Record<string, unknown>> };
    expect(lock.version).toBe('0.2.0');
    expect(lock.packages['']?.version).toBe('0.2.0');
    for (const w of workspaces) {
      expect(lock.packages[w.dir]?.version, w.dir).toBe('0.2.0');
      for (const range of internalRanges(lock.packages[w.dir] ?? {})) expect(range, w.dir).toMatch(/^[\^~]?0\.2\.0$/);
    }
    expect(readFileSync(join(repo, 'charts/deskplane/Chart.yaml'), 'utf8')).toBe(CHART.replace('version: 0.1.0', 'version: 0.2.0').replace('"0.1.0"', '"0.2.0"'));

    const changelog = readFileSync(join(repo, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toContain('## [Unreleased]\n\n## [0.2.0] - 2026-12-01\n\n### Added\n- One command runs Deskplane');
    expect(changelog.length).toBe(unreleased.length + '## [0.2.0] - 2026-12-01\n\n'.length);

    const again = cut(repo, '0.2.0', '--date', '2026-12-02');
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/0\.2\.0 is not greater than the current version 0\.2\.0/);
  });

  it('release/cut-release passes its arguments through to cut.ts', () => {
    const repo = copyOfRepository(true);
    const r = spawnSync('bash', [join(ROOT, 'release', 'cut-release'), '0.1.1', '--dry-run', '--date', '2026-12-01', '--root', repo], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Would release 0\.1\.1 \(from 0\.1\.0\)/);
  });

  it('without charts/deskplane/Chart.yaml it says the chart was not bumped and bumps the rest', () => {
    const repo = copyOfRepository(false);
    const r = cut(repo, '0.2.0', '--date', '2026-12-01');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('warning: charts/deskplane/Chart.yaml not found');
    expect(readManifest(join(repo, 'services/api/package.json')).version).toBe('0.2.0');
  });
});

describe('cut refuses, and writes nothing', () => {
  it.each([
    [['v0.4.0'], /"v0\.4\.0" is not a SemVer version/],
    [['0.4'], /not a SemVer version/],
    [['0.2.9'], /0\.2\.9 is not greater than the current version 0\.3\.0/],
    [['0.3.0'], /not greater than the current version/],
    [['0.3.0-rc.1'], /not greater than the current version/],
    [['0.4.0+build.5'], /build metadata/],
    [['0.4.0', '--date', '2026-02-30'], /expected a real date/],
  ])('%j', (args, message) => {
    const repo = smallRepository();
    const before = snapshot(repo);
    const r = cut(repo, ...args);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/nothing was written/);
    expect(r.status).toBe(2);
    expect(snapshot(repo)).toEqual(before);
  });

  it('an empty Unreleased', () => {
    const repo = smallRepository('### Added\n\n### Fixed\n');
    const before = snapshot(repo);
    const r = cut(repo, '0.3.1');
    expect(r.stderr).toMatch(/Unreleased section of CHANGELOG.md is empty/);
    expect(r.status).toBe(2);
    expect(snapshot(repo)).toEqual(before);
  });

  it('versions out of lockstep', () => {
    const repo = smallRepository();
    writeFileSync(join(repo, 'libs/a/package.json'), JSON.stringify({ name: '@s/a', version: '0.2.9' }));
    const before = snapshot(repo);
    const r = cut(repo, '0.3.1');
    expect(r.stderr).toMatch(/not in lockstep .*libs\/a is 0\.2\.9/);
    expect(r.status).toBe(2);
    expect(snapshot(repo)).toEqual(before);
  });

  it('a lock file that misses a workspace', () => {
    const repo = smallRepository();
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    delete lock.packages['libs/b'];
    writeFileSync(join(repo, 'package-lock.json'), JSON.stringify(lock));
    const before = snapshot(repo);
    const r = cut(repo, '0.3.1');
    expect(r.stderr).toMatch(/no entry for workspace libs\/b/);
    expect(r.status).toBe(2);
    expect(snapshot(repo)).toEqual(before);
  });

  it('a patch release of the small repository goes through, with no upgrade-notes warning', () => {
    const repo = smallRepository();
    const r = cut(repo, '0.3.1', '--date', '2026-02-01');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/Upgrade notes/);
    expect(readManifest(join(repo, 'libs/b/package.json')).dependencies).toEqual({ '@s/a': '0.3.1' });
  });

  it('a 0.y minor release without Upgrade notes goes through with a warning', () => {
    const repo = smallRepository();
    const r = cut(repo, '0.4.0', '--date', '2026-02-01');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/warning: 0\.4\.0 may carry breaking changes .* no "### Upgrade notes"/);
  });
});
