/**
 * Lints the repository's Dockerfiles: dockerfile-utils' own diagnostics plus the rules our
 * images live by (release/README.md). CLI: `npx tsx release/src/dockerfile-lint.ts [FILE...]`
 * (no arguments: every Dockerfile in the repository); prints findings and exits 1 on any.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { validate } from 'dockerfile-utils';
import { copies, execForm, expandArgs, isIgnored, parseDockerfile, parseDockerignore, type IgnoreRule, type Stage } from './dockerfile';

export interface Finding {
  file: string;
  line: number;
  rule: string;
  message: string;
}

export interface LintOptions {
  /** Name used in findings. */
  file: string;
  /** The build context the COPY sources are read from (our images: the repository root). */
  contextDir: string;
  /** Rules of the context's .dockerignore. */
  ignore: IgnoreRule[];
}

export const REQUIRED_LABELS = ['org.opencontainers.image.source', 'org.opencontainers.image.version', 'org.opencontainers.image.licenses', 'org.opencontainers.image.title'];

/** A final stage that must run as root says why in a comment starting with this marker. */
export const ROOT_EXCEPTION = 'runs-as-root:';

const NPM_INSTALL = /\bnpm\s+(?:install|i|in|add|isntall)(?:\s|$)/;

export function lintDockerfile(text: string, opts: LintOptions): Finding[] {
  const findings: Finding[] = [];
  const add = (line: number, rule: string, message: string): void => void findings.push({ file: opts.file, line, rule, message });

  for (const d of validate(text)) add(d.range.start.line + 1, 'dockerfile-utils', typeof d.message === 'string' ? d.message : d.message.value);

  const df = parseDockerfile(text);
  if (df.stages.length < 2) add(df.stages[0]?.from.line ?? 1, 'multi-stage', `${df.stages.length} stage(s): build and runtime must be separate stages`);

  const names = new Set<string>();
  for (const stage of df.stages) {
    checkBase(stage, names, df.globalArgs, add);
    if (stage.name) names.add(stage.name);
    for (const ins of stage.instructions) {
      if ((ins.keyword === 'CMD' || ins.keyword === 'ENTRYPOINT') && !execForm(ins.args)) {
        add(ins.line, 'exec-form', `${ins.keyword} must be in exec form (["node", "..."]) so the process gets signals as PID 1`);
      }
      if (ins.keyword === 'RUN' && NPM_INSTALL.test(ins.args)) add(ins.line, 'npm-ci', '`npm install` may change the lock file; use `npm ci`');
    }
    for (const c of copies(stage)) {
      if (c.from !== undefined) continue;
      for (const src of c.sources) checkSource(src, c.line, opts, add);
    }
  }

  const final = df.stages[df.stages.length - 1];
  if (final) {
    checkUser(final, add);
    if (!final.instructions.some((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT')) add(final.from.line, 'exec-form', 'the final stage has no CMD or ENTRYPOINT');
    const labels = stageLabels(final);
    const missing = REQUIRED_LABELS.filter((k) => !labels.get(k));
    if (missing.length > 0) add(final.from.line, 'oci-labels', `the final stage lacks ${missing.join(', ')}`);
  }
  return findings.sort((a, b) => a.line - b.line);
}

type Add = (line: number, rule: string, message: string) => void;

function checkBase(stage: Stage, earlier: Set<string>, args: Map<string, string | undefined>, add: Add): void {
  if (earlier.has(stage.base.toLowerCase()) || stage.base === 'scratch') return;
  const ref = expandArgs(stage.base, args);
  if (ref === undefined) return add(stage.from.line, 'pinned-base', `FROM ${stage.base} uses an ARG without a default`);
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const tag = colon > slash ? ref.slice(colon + 1) : undefined;
  if (tag === undefined) return add(stage.from.line, 'pinned-base', `FROM ${ref} has no tag (that is "latest"): pin an exact version`);
  if (tag === 'latest') return add(stage.from.line, 'pinned-base', `FROM ${ref}: "latest" moves; pin an exact version`);
  if (!/(^|[^\d.])\d+\.\d+\.\d+([^\d.]|$)/.test(tag)) add(stage.from.line, 'pinned-base', `FROM ${ref}: "${tag}" is not an exact version (major.minor.patch)`);
}

function checkSource(src: string, line: number, opts: LintOptions, add: Add): void {
  if (/^[a-z]+:\/\//i.test(src)) return add(line, 'copy-source', `${src}: fetch remote files in a RUN step with a checksum, not ADD`);
  const rel = normalize(src).replace(/\\/g, '/').replace(/\/+$/, '') || '.';
  if (isAbsolute(src) || rel === '..' || rel.startsWith('../')) return add(line, 'copy-source', `${src} is outside the build context`);
  const matches = /[*?[]/.test(rel) ? globMatches(opts.contextDir, rel) : existsSync(join(opts.contextDir, rel)) ? [rel] : [];
  if (matches.length === 0) return add(line, 'copy-source', `${src} does not exist in the build context`);
  if (rel !== '.' && matches.every((m) => isIgnored(m, opts.ignore))) add(line, 'copy-source', `${src} is excluded by .dockerignore`);
}

/** Wildcards in the last path element only: enough for the patterns Dockerfiles use in practice. */
function globMatches(contextDir: string, rel: string): string[] {
  const dir = dirname(rel);
  const base = rel.slice(dir === '.' ? 0 : dir.length + 1);
  if (/[*?[]/.test(dir) || !existsSync(join(contextDir, dir))) return [];
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  return readdirSync(join(contextDir, dir))
    .filter((n) => re.test(n))
    .map((n) => (dir === '.' ? n : `${dir}/${n}`));
}

function checkUser(final: Stage, add: Add): void {
  const exception = final.comments.find((c) => c.startsWith(ROOT_EXCEPTION));
  if (exception !== undefined) {
    const reason = exception.slice(ROOT_EXCEPTION.length).trim();
    if (reason.length < 20) add(final.from.line, 'non-root', `"# ${ROOT_EXCEPTION}" must give the reason the image needs root`);
    return;
  }
  const users = final.instructions.filter((i) => i.keyword === 'USER');
  const user = users[users.length - 1];
  if (!user) return add(final.from.line, 'non-root', `the final stage runs as root: add USER <uid>:<gid>, or a "# ${ROOT_EXCEPTION} <reason>" comment`);
  const m = /^(\d+)(?::(\d+))?$/.exec(user.args.trim());
  if (!m) return add(user.line, 'non-root', `USER ${user.args}: use a numeric uid so Kubernetes' runAsNonRoot can verify it`);
  if (Number(m[1]) === 0) add(user.line, 'non-root', 'USER 0 is root');
}

/** LABEL key=value pairs of a stage (later ones win, as in the image config). */
export function stageLabels(stage: Stage): Map<string, string> {
  const labels = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.keyword === 'LABEL')) {
    for (const m of ins.args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S+)/g)) {
      labels.set(m[1] as string, (m[2] as string).replace(/^(["'])([\s\S]*)\1$/, '$2'));
    }
  }
  return labels;
}

/** Every Dockerfile in the repository (Dockerfile, *.Dockerfile, Dockerfile.*), outside installs and output. */
export function findDockerfiles(root: string): string[] {
  const skip = new Set(['node_modules', '.git', 'dist', 'test-artifacts', '.vitest-results']);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!skip.has(e.name)) walk(join(dir, e.name));
      } else if (/^Dockerfile(\..+)?$|\.Dockerfile$/.test(e.name)) out.push(join(dir, e.name));
    }
  };
  walk(root);
  return out.sort();
}

export function readDockerignore(contextDir: string): IgnoreRule[] {
  const file = join(contextDir, '.dockerignore');
  return existsSync(file) ? parseDockerignore(readFileSync(file, 'utf8')) : [];
}

export function lintRepository(root: string, files = findDockerfiles(root)): Finding[] {
  const ignore = readDockerignore(root);
  return files.flatMap((f) => lintDockerfile(readFileSync(f, 'utf8'), { file: relative(root, f), contextDir: root, ignore }));
}

function main(argv: string[]): number {
  const root = resolve(__dirname, '..', '..');
  let contextDir = root;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--context') contextDir = resolve(argv[++i] ?? '.');
    else if (a.startsWith('--context=')) contextDir = resolve(a.slice('--context='.length));
    else positional.push(a);
  }
  const files = positional.length > 0 ? positional.map((f) => resolve(f)) : findDockerfiles(root);
  const findings = lintRepository(contextDir, files);
  for (const f of findings) process.stdout.write(`${f.file}:${f.line}: ${f.rule}: ${f.message}\n`);
  process.stdout.write(findings.length === 0 ? `${files.length} Dockerfile(s): no findings\n` : `${findings.length} finding(s) in ${files.length} Dockerfile(s)\n`);
  return findings.length === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
