/**
 * The chart ships the CRDs that packages/api generates, byte for byte: one source
 * (packages/api/scripts/generate-crds.ts writes both folders, and its --check fails CI when
 * either has drifted).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART, run } from './support/chart';

const ROOT = join(__dirname, '..', '..');
const API_CRDS = join(ROOT, 'packages', 'api', 'crds');
const CHART_CRDS = join(CHART, 'crds');
const yamls = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('charts/deskplane/crds', () => {
  it('holds the same 7 files as packages/api/crds', () => {
    expect(yamls(CHART_CRDS)).toEqual(yamls(API_CRDS));
    expect(yamls(CHART_CRDS)).toHaveLength(7);
    // Nothing but CRDs in the chart's folder: helm applies every file in it.
    expect(readdirSync(CHART_CRDS).sort()).toEqual(yamls(CHART_CRDS));
  });

  it.each(yamls(API_CRDS))('%s is byte-identical', (file) => {
    expect(readFileSync(join(CHART_CRDS, file)).equals(readFileSync(join(API_CRDS, file)))).toBe(true);
  });

  it('generate-crds.ts --check finds both copies up to date', async () => {
    const r = await run(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), '--conditions=source', join(ROOT, 'packages', 'api', 'scripts', 'generate-crds.ts'), '--check']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/packages\/api\/crds: 7 CRDs up to date/);
    expect(r.stdout).toMatch(/charts\/deskplane\/crds: 7 CRDs up to date/);
  });
});
