/**
 * Lockstep version bumps as pure text → text transforms: package.json files, the
 * workspace entries of package-lock.json, and the chart's Chart.yaml.
 */
import { parse as parseYaml } from 'yaml';

export class BumpError extends Error {}

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

type Json = Record<string, unknown>;

/** Re-serialises JSON the way it was written: same indent, same final newline. */
function formatLike(original: string, value: unknown): string {
  const indent = /\n([ \t]+)"/.exec(original)?.[1] ?? '  ';
  return JSON.stringify(value, null, indent) + (original.endsWith('\n') ? '\n' : '');
}

/**
 * An internal dependency's range moved to the new version with its operator kept
 * ("0.1.0" → "0.2.0", "^0.1.0" → "^0.2.0"); ranges that are not a single version
 * ("*", "workspace:*") already follow along and stay as they are.
 */
export function bumpRange(range: string, version: string): string {
  const m = /^(\^|~|=|>=)?v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(range.trim());
  return m ? `${m[1] ?? ''}${version}` : range;
}

/** Sets `version` and the ranges of `internal` packages in one manifest object; returns what changed. */
function bumpManifestObject(m: Json, version: string, internal: ReadonlySet<string>, where: string): string[] {
  const changes: string[] = [];
  if (typeof m.version === 'string' && m.version !== version) {
    changes.push(`${where}version ${m.version} → ${version}`);
    m.version = version;
  } else if (m.version === undefined) {
    throw new BumpError(`${where || 'manifest '}has no "version"`);
  }
  for (const field of DEP_FIELDS) {
    const deps = m[field] as Record<string, string> | undefined;
    if (!deps) continue;
    for (const [name, range] of Object.entries(deps)) {
      if (!internal.has(name)) continue;
      const next = bumpRange(range, version);
      if (next !== range) {
        changes.push(`${where}${field}.${name} ${range} → ${next}`);
        deps[name] = next;
      }
    }
  }
  return changes;
}

export function bumpPackageJson(text: string, version: string, internal: ReadonlySet<string>): { text: string; changes: string[] } {
  const m = JSON.parse(text) as Json;
  const changes = bumpManifestObject(m, version, internal, '');
  return { text: formatLike(text, m), changes };
}

/**
 * package-lock.json (lockfileVersion 2 or 3): the root's version and each workspace's
 * entry under `packages` (keyed by its folder); registry entries are never touched.
 */
export function bumpPackageLock(text: string, version: string, workspaceDirs: readonly string[], internal: ReadonlySet<string>): { text: string; changes: string[] } {
  const lock = JSON.parse(text) as Json & { packages?: Record<string, Json> };
  if (!lock.packages) throw new BumpError('package-lock.json has no "packages" map (lockfileVersion 2 or later expected)');
  const changes: string[] = [];
  if (lock.version !== version) {
    changes.push(`version ${String(lock.version)} → ${version}`);
    lock.version = version;
  }
  const root = lock.packages[''];
  if (!root) throw new BumpError('package-lock.json has no root entry (packages[""])');
  changes.push(...bumpManifestObject(root, version, internal, 'packages[""].'));
  for (const dir of workspaceDirs) {
    const entry = lock.packages[dir];
    if (!entry) throw new BumpError(`package-lock.json has no entry for workspace ${dir}: run npm install first so the lock knows it`);
    changes.push(...bumpManifestObject(entry, version, internal, `packages["${dir}"].`));
  }
  return { text: formatLike(text, lock), changes };
}

/**
 * Chart.yaml's top-level `version` and `appVersion`, edited in place so comments and
 * layout survive (quotes kept as written); appVersion is added after version if absent.
 */
export function bumpChartYaml(text: string, version: string): { text: string; changes: string[] } {
  const changes: string[] = [];
  let out = text;
  for (const key of ['version', 'appVersion']) {
    const re = new RegExp(`^(${key}:[ \\t]*)(["']?)([^"'\\s#]*)\\2([ \\t]*(?:#.*)?)$`, 'm');
    const m = re.exec(out);
    if (m) {
      if (m[3] !== version) changes.push(`${key} ${m[3]} → ${version}`);
      out = out.replace(re, `$1$2${version}$2$4`);
    } else if (key === 'appVersion') {
      out = out.replace(/^(version:.*)$/m, `$1\nappVersion: "${version}"`);
      changes.push(`appVersion (absent) → ${version}`);
    } else {
      throw new BumpError('Chart.yaml has no top-level "version"');
    }
  }
  const parsed = parseYaml(out) as { version?: unknown; appVersion?: unknown };
  if (String(parsed.version) !== version || String(parsed.appVersion) !== version) throw new BumpError(`Chart.yaml did not read back as ${version} after the edit`);
  return { text: out, changes };
}
