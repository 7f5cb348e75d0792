/**
 * The README's "Run on Kubernetes" install command is what a newcomer copies: it must
 * render with this chart and every object it renders must pass the testbed kube-apiserver's
 * server-side dry-run. The command is read from README.md itself, so the two cannot drift.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART, kubectl, parseObjects, run, tools, type Tools } from './support/chart';

const README = join(__dirname, '..', '..', 'README.md');

/** The lines of the section's `helm install …` command, continuations joined. */
export function helmInstallCommand(markdown: string): string {
  const section = markdown.slice(markdown.indexOf('## Run on Kubernetes'));
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('helm install '));
  if (start < 0) throw new Error('README: no `helm install` line under "Run on Kubernetes"');
  const out: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const l = lines[i]!;
    out.push(l.replace(/\\$/, '').trim());
    if (!l.endsWith('\\')) break;
  }
  return out.join(' ');
}

/** Splits a shell command line: single and double quotes, $NAME from `vars`; nothing else is shell. */
export function shellWords(line: string, vars: Record<string, string>): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ') {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      cur = (cur ?? '') + line.slice(i + 1, end).replace(/\$([A-Z_]+)/g, (_, v: string) => vars[v] ?? '');
      i = end;
    } else if (c === '$') {
      const name = /^[A-Z_]+/.exec(line.slice(i + 1))![0];
      cur = (cur ?? '') + (vars[name] ?? '');
      i += name.length;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

describe('the README install command', () => {
  const ns = `readme-${randomBytes(3).toString('hex')}`;
  let t: Tools;
  let args: string[] = [];

  beforeAll(async () => {
    t = tools();
    const words = shellWords(helmInstallCommand(readFileSync(README, 'utf8')), { REDIS_PASSWORD: 'p@ss:w/rd' });
    expect(words.slice(0, 4)).toEqual(['helm', 'install', 'deskplane', 'charts/deskplane']);
    // `helm template` takes the same release, chart and values; the namespace is this run's own.
    args = words.slice(4).filter((w, i, all) => w !== '--create-namespace' && !(w === '-n' || all[i - 1] === '-n'));
    const created = await kubectl(t, ['create', 'namespace', ns]);
    if (created.code !== 0) throw new Error(created.stderr);
  });

  afterAll(async () => {
    if (!t) return;
    await kubectl(t, ['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    const got = await kubectl(t, ['get', 'namespace', ns, '-o', 'json']);
    if (got.code === 0) {
      const body = JSON.parse(got.stdout) as { spec?: { finalizers?: string[] } };
      body.spec = { ...body.spec, finalizers: [] };
      await kubectl(t, ['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'], JSON.stringify(body));
    }
  });

  it('renders, and every object passes server-side dry-run', async () => {
    const r = await run(t.helm, ['template', 'deskplane', CHART, '-n', ns, ...args]);
    expect(r.code, r.stderr).toBe(0);
    const objects = parseObjects(r.stdout);
    expect(objects.filter((o) => o.kind === 'KvmHost').map((o) => o.metadata.name)).toEqual(['kvm-1', 'kvm-2']);
    expect(objects.some((o) => o.kind === 'Ingress')).toBe(true);
    // The password only ever inside a Secret.
    expect(objects.filter((o) => o.kind !== 'Secret').some((o) => JSON.stringify(o).includes('p@ss'))).toBe(false);
    const dry = await kubectl(t, ['apply', '--dry-run=server', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    expect(dry.stderr.replace(/^Warning:.*\n/gm, '')).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'))).toHaveLength(objects.length);
  });

  it('reads quoted and continued shell words the way bash does', () => {
    expect(shellWords(`a --set x="$P" --set-json 'h=[{"n":"k"}]' b`, { P: 'v w' })).toEqual(['a', '--set', 'x=v w', '--set-json', 'h=[{"n":"k"}]', 'b']);
    expect(helmInstallCommand('## Run on Kubernetes\n```sh\nhelm install r c \\\n  --set a=1 \\\n  --set b=2\nnext\n')).toBe('helm install r c --set a=1 --set b=2');
    expect(() => helmInstallCommand('## Run on Kubernetes\nnothing here')).toThrow(/no `helm install` line/);
  });
});
