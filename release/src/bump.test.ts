import { describe, expect, it } from 'vitest';
import { BumpError, bumpChartYaml, bumpPackageJson, bumpPackageLock, bumpRange } from './bump';

const INTERNAL = new Set(['@x/a', '@x/b']);

describe('bumpRange', () => {
  it.each([
    ['0.1.0', '0.2.0'],
    ['^0.1.0', '^0.2.0'],
    ['~0.1.0', '~0.2.0'],
    ['>=0.1.0', '>=0.2.0'],
    ['0.1.0-rc.1', '0.2.0'],
    ['*', '*'],
    ['workspace:*', 'workspace:*'],
    ['^0.1.0 || ^0.0.9', '^0.1.0 || ^0.0.9'],
  ])('%s → %s', (from, to) => {
    expect(bumpRange(from, '0.2.0')).toBe(to);
  });
});

describe('bumpPackageJson', () => {
  it('sets the version and internal ranges only, in the same format', () => {
    const text = `{\n    "name": "@x/b",\n    "version": "0.1.0",\n    "dependencies": {\n        "@x/a": "0.1.0",\n        "left-pad": "0.1.0"\n    },\n    "devDependencies": {\n        "@x/a": "^0.1.0"\n    }\n}\n`;
    const r = bumpPackageJson(text, '0.2.0', INTERNAL);
    expect(r.text).toBe(text.replace('"version": "0.1.0"', '"version": "0.2.0"').replace('"@x/a": "0.1.0"', '"@x/a": "0.2.0"').replace('"^0.1.0"', '"^0.2.0"'));
    expect(r.changes).toEqual(['version 0.1.0 → 0.2.0', 'dependencies.@x/a 0.1.0 → 0.2.0', 'devDependencies.@x/a ^0.1.0 → ^0.2.0']);
  });

  it('refuses a manifest without a version', () => {
    expect(() => bumpPackageJson('{"name":"x"}', '0.2.0', INTERNAL)).toThrow(BumpError);
  });
});

describe('bumpPackageLock', () => {
  const lock = {
    name: 'root',
    version: '0.1.0',
    lockfileVersion: 3,
    packages: {
      '': { name: 'root', version: '0.1.0', workspaces: ['libs/*'] },
      'libs/a': { name: '@x/a', version: '0.1.0' },
      'libs/b': { name: '@x/b', version: '0.1.0', dependencies: { '@x/a': '0.1.0', 'left-pad': '^1.0.0' } },
      'node_modules/@x/a': { resolved: 'libs/a', link: true },
      'node_modules/left-pad': { version: '0.1.0', resolved: 'https://registry/left-pad-0.1.0.tgz' },
    },
  };

  it('bumps the root and workspace entries and leaves registry entries alone', () => {
    const r = bumpPackageLock(JSON.stringify(lock, null, 2) + '\n', '0.2.0', ['libs/a', 'libs/b'], INTERNAL);
    const out = JSON.parse(r.text) as typeof lock;
    expect(out.version).toBe('0.2.0');
    expect(out.packages[''].version).toBe('0.2.0');
    expect(out.packages['libs/a'].version).toBe('0.2.0');
    expect(out.packages['libs/b']).toEqual({ name: '@x/b', version: '0.2.0', dependencies: { '@x/a': '0.2.0', 'left-pad': '^1.0.0' } });
    expect(out.packages['node_modules/left-pad']).toEqual(lock.packages['node_modules/left-pad']);
    expect(r.text.endsWith('}\n')).toBe(true);
  });

  it('refuses a lock that does not know a workspace', () => {
    expect(() => bumpPackageLock(JSON.stringify(lock), '0.2.0', ['libs/c'], INTERNAL)).toThrow(/no entry for workspace libs\/c/);
  });
});

describe('bumpChartYaml', () => {
  it('edits version and appVersion in place, keeping quotes and comments', () => {
    const text = `apiVersion: v2\nname: deskplane\n# the chart and the app share one version\nversion: 0.1.0\nappVersion: "0.1.0"  # images\ndependencies:\n  - name: redis\n    version: 1.2.3\n`;
    const r = bumpChartYaml(text, '0.2.0');
    expect(r.text).toBe(text.replace('version: 0.1.0', 'version: 0.2.0').replace('appVersion: "0.1.0"', 'appVersion: "0.2.0"'));
    expect(r.changes).toEqual(['version 0.1.0 → 0.2.0', 'appVersion 0.1.0 → 0.2.0']);
  });

  it('adds appVersion when the chart has none', () => {
    const r = bumpChartYaml('apiVersion: v2\nname: x\nversion: 0.1.0\n', '0.2.0');
    expect(r.text).toBe('apiVersion: v2\nname: x\nversion: 0.2.0\nappVersion: "0.2.0"\n');
  });

  it('refuses a chart without a top-level version', () => {
    expect(() => bumpChartYaml('apiVersion: v2\nname: x\n', '0.2.0')).toThrow(/no top-level "version"/);
  });
});
