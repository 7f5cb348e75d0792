/**
 * The five images and what each needs from the workspace graph: the projects `tsc -b`
 * compiles (build stage) and the workspaces its compiled entry point loads (runtime stage).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';

export interface ImageSpec {
  /** Image name the chart uses. */
  name: string;
  /** Workspace folder of the component. */
  dir: string;
  /** Its package name (the runtime stage's `npm ci --workspace`). */
  pkg: string;
}

export const IMAGES: readonly ImageSpec[] = [
  { name: 'deskplane-operator', dir: 'operators/desktop-operator', pkg: '@deskplane/desktop-operator' },
  { name: 'deskplane-orchestrator', dir: 'services/orchestrator', pkg: '@deskplane/orchestrator' },
  { name: 'deskplane-host-agent', dir: 'services/host-agent', pkg: '@deskplane/host-agent' },
  { name: 'deskplane-gateway', dir: 'gateway', pkg: '@deskplane/gateway' },
  { name: 'deskplane-api', dir: 'services/api', pkg: '@deskplane/api-server' },
];

export const dockerfileOf = (i: ImageSpec): string => `${i.dir}/Dockerfile`;
export const mainOf = (i: ImageSpec): string => `${i.dir}/dist/src/main.js`;

export interface Workspace {
  dir: string;
  name: string;
  manifest: PackageManifest;
}

export interface PackageManifest {
  name: string;
  version: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export function readManifest(file: string): PackageManifest {
  return JSON.parse(readFileSync(file, 'utf8')) as PackageManifest;
}

/** The root package.json's workspace globs expanded (`dir/*` and literal folders, as npm does for ours). */
export function listWorkspaces(root: string): Workspace[] {
  const out: Workspace[] = [];
  for (const pattern of readManifest(join(root, 'package.json')).workspaces ?? []) {
    const dirs = pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => `${pattern.slice(0, -2)}/${e.name}`)
      : [pattern];
    for (const dir of dirs) {
      const file = join(root, dir, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = readManifest(file);
      out.push({ dir, name: manifest.name, manifest });
    }
  }
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** The folder itself and every project its tsconfig.json reaches through `references`. */
export function tsconfigClosure(root: string, dir: string): string[] {
  const seen = new Set<string>();
  const visit = (d: string): void => {
    if (seen.has(d)) return;
    seen.add(d);
    const config = JSON.parse(readFileSync(join(root, d, 'tsconfig.json'), 'utf8')) as { references?: { path: string }[] };
    for (const r of config.references ?? []) visit(relative(root, resolve(root, d, r.path)).split(sep).join('/'));
  };
  visit(dir);
  return [...seen].sort();
}

export interface RuntimeClosure {
  /** Workspace folders whose compiled code the entry point loads. */
  workspaces: string[];
  /** Registry packages that code requires. */
  packages: string[];
  /** Requires of a package the requiring workspace does not list in its production dependencies. */
  undeclared: { file: string; pkg: string }[];
}

/**
 * Follows the static `require("...")` calls of compiled CommonJS from an entry point. That
 * is how tsc emits every import for `module: node20` CommonJS packages, so the walk sees
 * what `node main.js` will load; `npm ci --omit=dev` must bring each registry package.
 */
export function runtimeClosure(root: string, entry: string): RuntimeClosure {
  const workspaces = listWorkspaces(root);
  const ownerOf = (file: string): Workspace | undefined =>
    workspaces.filter((w) => file.startsWith(join(root, w.dir) + sep)).sort((a, b) => b.dir.length - a.dir.length)[0];
  const builtins = new Set(builtinModules);
  const seen = new Set<string>();
  const used = new Set<string>();
  const packages = new Set<string>();
  const undeclared: { file: string; pkg: string }[] = [];
  const stack = [resolve(root, entry)];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const owner = ownerOf(file);
    if (owner) used.add(owner.dir);
    for (const m of readFileSync(file, 'utf8').matchAll(/\brequire\("([^"]+)"\)/g)) {
      const spec = m[1] as string;
      if (spec.startsWith('node:') || builtins.has(spec)) continue;
      if (spec.startsWith('.')) {
        stack.push(createRequire(file).resolve(spec));
        continue;
      }
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
      const m2 = owner?.manifest;
      const declared = { ...m2?.dependencies, ...m2?.optionalDependencies, ...m2?.peerDependencies };
      if (owner && !(pkg in declared)) undeclared.push({ file: relative(root, file), pkg });
      // Node's own resolver, without the "source" condition: the image has no TypeScript sources.
      if (workspaces.some((w) => w.name === pkg)) stack.push(createRequire(file).resolve(spec));
      else packages.add(pkg);
    }
  }
  return { workspaces: [...used].sort(), packages: [...packages].sort(), undeclared };
}
