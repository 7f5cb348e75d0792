import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listWorkspaces, runtimeClosure, tsconfigClosure } from './images';

// A two-workspace repository with compiled output, laid out as npm and tsc would.
const root = mkdtempSync(join(tmpdir(), 'images-closure-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const write = (path: string, text: string): void => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};
const manifest = (name: string, extra: object = {}): string => JSON.stringify({ name, version: '1.0.0', ...extra });
write('package.json', JSON.stringify({ name: 'fake', version: '1.0.0', workspaces: ['libs/*', 'app'] }));
write('libs/util/package.json', manifest('@fake/util', { exports: { '.': { default: './dist/src/index.js' } }, dependencies: { declared: '1' } }));
write('libs/util/dist/src/index.js', 'require("declared");\nrequire("./more");\n');
write('libs/util/dist/src/more.js', 'require("node:fs");\nrequire("path");\nrequire("sneaky/deep/file");\n');
write('libs/util/tsconfig.json', '{}');
write('libs/unused/package.json', manifest('@fake/unused'));
write('app/package.json', manifest('@fake/app', { dependencies: { '@fake/util': '1.0.0' }, devDependencies: { 'dev-only': '1' } }));
write('app/dist/src/main.js', '"use strict";\nconst u = require("@fake/util");\nconst d = require("dev-only");\n');
write('app/tsconfig.json', JSON.stringify({ references: [{ path: '../libs/util' }] }));
for (const p of ['declared', 'sneaky', 'dev-only']) write(`node_modules/${p}/index.js`, '');
mkdirSync(join(root, 'node_modules/@fake'), { recursive: true });
symlinkSync('../../libs/util', join(root, 'node_modules/@fake/util'));

describe('workspace graph', () => {
  it('lists workspaces from the root globs', () => {
    expect(listWorkspaces(root).map((w) => `${w.dir}=${w.name}`)).toEqual(['app=@fake/app', 'libs/unused=@fake/unused', 'libs/util=@fake/util']);
  });

  it('follows tsconfig references', () => {
    expect(tsconfigClosure(root, 'app')).toEqual(['app', 'libs/util']);
  });

  it('follows compiled requires into workspaces and names imports the production install would not bring', () => {
    const c = runtimeClosure(root, 'app/dist/src/main.js');
    expect(c.workspaces).toEqual(['app', 'libs/util']);
    expect(c.packages).toEqual(['declared', 'dev-only', 'sneaky']);
    expect(c.undeclared).toEqual([
      { file: 'app/dist/src/main.js', pkg: 'dev-only' },
      { file: 'libs/util/dist/src/more.js', pkg: 'sneaky' },
    ]);
  });
});
