/**
 * Cuts a release: `npx tsx release/src/cut.ts VERSION [--date YYYY-MM-DD] [--dry-run] [--root DIR]`
 * (or `release/cut-release ...`). Moves CHANGELOG.md's Unreleased body into the release's
 * section and bumps every version in lockstep (release/README.md). Everything is computed
 * and checked before the first file is written; --dry-run writes nothing.
 * Exit codes: 0 done, 2 refused (nothing written).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BumpError, bumpChartYaml, bumpPackageJson, bumpPackageLock } from './bump';
import { cutChangelog, isIsoDate, SECTIONS } from './changelog';
import { listWorkspaces, readManifest } from './images';
import { compareSemVer, mayBreak, parseSemVer } from './semver';

export class CutError extends Error {}

export interface FileChange {
  path: string;
  before: string;
  after: string;
  changes: string[];
}

export interface CutPlan {
  from: string;
  version: string;
  date: string;
  files: FileChange[];
  /** The CHANGELOG section the release gets. */
  section: string;
  warnings: string[];
}

export const CHART = 'charts/deskplane/Chart.yaml';

export function planCut(root: string, version: string, date: string): CutPlan {
  const next = parseSemVer(version);
  if (!next) throw new CutError(`"${version}" is not a SemVer version (X.Y.Z or X.Y.Z-pre.N, no "v")`);
  // Image tags cannot carry "+", and build metadata does not order releases.
  if (next.build.length > 0) throw new CutError(`"${version}": build metadata (+...) cannot be part of an image tag; leave it out`);
  if (!isIsoDate(date)) throw new CutError(`--date ${date}: expected a real date as YYYY-MM-DD`);

  const rootManifest = readManifest(join(root, 'package.json'));
  const current = parseSemVer(rootManifest.version);
  if (!current) throw new CutError(`package.json's version "${rootManifest.version}" is not SemVer`);
  if (compareSemVer(next, current) <= 0) throw new CutError(`${version} is not greater than the current version ${rootManifest.version}`);

  const workspaces = listWorkspaces(root);
  const drifted = workspaces.filter((w) => w.manifest.version !== rootManifest.version);
  if (drifted.length > 0) {
    throw new CutError(`versions are not in lockstep with package.json (${rootManifest.version}): ${drifted.map((w) => `${w.dir} is ${w.manifest.version}`).join(', ')}`);
  }
  const internal = new Set(workspaces.map((w) => w.name));

  const files: FileChange[] = [];
  const read = (path: string): string => readFileSync(join(root, path), 'utf8');
  const add = (path: string, before: string, r: { text: string; changes: string[] }): void => void files.push({ path, before, after: r.text, changes: r.changes });

  const changelogText = read('CHANGELOG.md');
  const cut = (() => {
    try {
      return cutChangelog(changelogText, version, date);
    } catch (err) {
      throw new CutError((err as Error).message);
    }
  })();
  add('CHANGELOG.md', changelogText, { text: cut.text, changes: [`Unreleased → ## [${version}] - ${date} (${cut.body.sections.map((s) => s.name).join(', ') || 'no sub-sections'})`] });

  for (const path of ['package.json', ...workspaces.map((w) => `${w.dir}/package.json`)]) {
    const text = read(path);
    add(path, text, bumpPackageJson(text, version, internal));
  }
  if (existsSync(join(root, 'package-lock.json'))) {
    const text = read('package-lock.json');
    add('package-lock.json', text, bumpPackageLock(text, version, workspaces.map((w) => w.dir), internal));
  }

  const warnings: string[] = [];
  if (existsSync(join(root, CHART))) {
    const text = read(CHART);
    add(CHART, text, bumpChartYaml(text, version));
  } else {
    warnings.push(`${CHART} not found: the chart's version and appVersion were not bumped`);
  }
  if (mayBreak(current, next) && !cut.body.sections.some((s) => s.name === 'Upgrade notes')) {
    warnings.push(`${version} may carry breaking changes (from ${rootManifest.version}) but has no "### Upgrade notes"; add them (or say there is nothing to do) before tagging`);
  }
  return { from: rootManifest.version, version, date, files, section: cut.section, warnings };
}

/** Each file is replaced whole (write beside it, then rename), so none is left half-written. */
export function applyPlan(root: string, plan: CutPlan): void {
  for (const f of plan.files) {
    if (f.after === f.before) continue;
    const target = join(root, f.path);
    writeFileSync(`${target}.release-tmp`, f.after);
    renameSync(`${target}.release-tmp`, target);
  }
}

export function describePlan(plan: CutPlan, dryRun: boolean): string {
  const out = [`${dryRun ? 'Would release' : 'Released'} ${plan.version} (from ${plan.from}), dated ${plan.date}.`, ''];
  for (const f of plan.files) {
    if (f.after === f.before) continue;
    out.push(`${f.path}:`, ...f.changes.map((c) => `  ${c}`));
  }
  out.push('', 'CHANGELOG.md section:', '', ...plan.section.split('\n').map((l) => `  ${l}`), '');
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  if (plan.warnings.length > 0) out.push('');
  return out.join('\n');
}

export function nextSteps(version: string): string {
  return [
    'Next steps:',
    '  git diff                                  # read it through',
    `  git commit -am "Release ${version}"`,
    `  git tag -a v${version} -m "Deskplane ${version}"`,
    `  release/build-images --push               # deskplane-*:${version}`,
    `  helm package charts/deskplane             # deskplane-${version}.tgz`,
    `  git push origin HEAD v${version}`,
    '',
  ].join('\n');
}

const USAGE = `usage: cut.ts VERSION [--date YYYY-MM-DD] [--dry-run] [--root DIR]
Moves CHANGELOG.md's Unreleased into "## [VERSION] - DATE" (sub-sections: ${SECTIONS.join(', ')})
and bumps every package.json, package-lock.json and ${CHART} to VERSION.\n`;

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  let version: string | undefined;
  let date = new Date().toISOString().slice(0, 10);
  let dryRun = false;
  let root = resolve(__dirname, '..', '..');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--dry-run') dryRun = true;
    else if (a === '--date') date = argv[++i] ?? '';
    else if (a.startsWith('--date=')) date = a.slice('--date='.length);
    else if (a === '--root') root = resolve(argv[++i] ?? '.');
    else if (a === '--help' || a === '-h') return (out(USAGE), 0);
    else if (a.startsWith('-') || version !== undefined) return (err(`cut: unexpected argument "${a}"\n${USAGE}`), 2);
    else version = a;
  }
  if (version === undefined) return (err(USAGE), 2);
  try {
    const plan = planCut(root, version, date);
    if (!dryRun) applyPlan(root, plan);
    out(describePlan(plan, dryRun));
    if (!dryRun) out(nextSteps(version));
    return 0;
  } catch (e) {
    // A missing or unparsable file is a refusal too; anything else is a bug and keeps its stack.
    const refused = e instanceof CutError || e instanceof BumpError || e instanceof SyntaxError || (e as NodeJS.ErrnoException).code === 'ENOENT';
    if (!refused) throw e;
    err(`cut: refused: ${(e as Error).message} (nothing was written)\n`);
    return 2;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
