import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CRD_DIRS, compare } from '../scripts/generate-crds';
import { renderCrds } from '../src';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A folder holding the generated CRDs, as the script would leave it. */
function generated(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crds-'));
  dirs.push(dir);
  for (const [file, text] of renderCrds()) writeFileSync(join(dir, file), text);
  return dir;
}

describe('generate-crds.ts compare (what --check reports)', () => {
  it('writes to the package and to the Helm chart', () => {
    expect(CRD_DIRS.map((d) => relative(join(__dirname, '..', '..', '..'), d))).toEqual(['packages/api/crds', 'charts/deskplane/crds']);
  });

  it('finds nothing to do in an up-to-date folder', () => {
    expect(compare(generated(), renderCrds())).toMatchObject({ stale: [], extra: [] });
  });

  it('reports a changed byte, a missing file and a stray YAML file', () => {
    const dir = generated();
    const [first, second] = [...renderCrds().keys()];
    writeFileSync(join(dir, first!), renderCrds().get(first!)! + ' ');
    rmSync(join(dir, second!));
    writeFileSync(join(dir, 'old-kind.deskplane.io.yaml'), 'kind: CustomResourceDefinition\n');
    writeFileSync(join(dir, 'README.md'), 'not a CRD, not checked\n');
    const state = compare(dir, renderCrds());
    expect(state.stale.sort()).toEqual([first, second].sort());
    expect(state.extra).toEqual(['old-kind.deskplane.io.yaml']);
  });

  it('treats a folder that does not exist as every file missing', () => {
    expect(compare(join(tmpdir(), 'no-such-crds-dir-' + process.pid), renderCrds()).stale).toHaveLength(renderCrds().size);
  });
});
