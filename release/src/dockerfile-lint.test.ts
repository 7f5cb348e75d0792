import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isIgnored, parseDockerignore } from './dockerfile';
import { findDockerfiles, lintDockerfile, lintRepository, readDockerignore, type Finding } from './dockerfile-lint';
import { dockerfileOf, IMAGES } from './images';

const ROOT = resolve(__dirname, '..', '..');

describe('the repository', () => {
  it('has the five image Dockerfiles, and every Dockerfile in it lints clean', () => {
    const found = findDockerfiles(ROOT).map((f) => relative(ROOT, f));
    expect(found).toEqual(expect.arrayContaining(IMAGES.map(dockerfileOf)));
    expect(found.some((f) => f.includes('node_modules'))).toBe(false);
    expect(lintRepository(ROOT)).toEqual([]);
  });
});

// A small context: what the good Dockerfile copies, plus things .dockerignore leaves out.
const context = mkdtempSync(join(tmpdir(), 'dockerfile-lint-'));
writeFileSync(join(context, 'package.json'), '{}');
mkdirSync(join(context, 'src'));
writeFileSync(join(context, 'src', 'a.ts'), '');
mkdirSync(join(context, 'lib', 'node_modules', 'x'), { recursive: true });
writeFileSync(join(context, 'server.key'), 'not really');
writeFileSync(join(context, '.dockerignore'), '**/node_modules\n*.key\n');
afterAll(() => rmSync(context, { recursive: true, force: true }));

const GOOD = `# syntax=docker/dockerfile:1
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json ./
COPY src/ src/
RUN npm ci
FROM node:20.20.2-bookworm-slim
LABEL org.opencontainers.image.source="https://example.org/x" \\
      org.opencontainers.image.version="1.0.0" \\
      org.opencontainers.image.licenses="Apache-2.0" \\
      org.opencontainers.image.title="x"
WORKDIR /app
COPY --from=build /app/ ./
USER 1000:1000
CMD ["node", "main.js"]
`;

const lint = (text: string): Finding[] => lintDockerfile(text, { file: 'Dockerfile', contextDir: context, ignore: readDockerignore(context) });
/** GOOD with one edit; the edit must apply, so a typo here cannot make a test pass. */
const variant = (from: string | RegExp, to: string): string => {
  const out = GOOD.replace(from, to);
  expect(out, `edit ${String(from)}`).not.toBe(GOOD);
  return out;
};
const rules = (text: string): string[] => lint(text).map((f) => f.rule);

describe('lintDockerfile', () => {
  it('passes the good example', () => {
    expect(lint(GOOD)).toEqual([]);
  });

  it('reports dockerfile-utils diagnostics (unknown flag, lower-case instruction)', () => {
    const f = lint(variant('COPY package.json ./', 'COPY --chmodd=644 package.json ./\nrun true'));
    expect(f.filter((x) => x.rule === 'dockerfile-utils').map((x) => x.message)).toEqual(['Unknown flag: chmodd', 'Instructions should be written in uppercase letters']);
  });

  it('multi-stage: one stage is refused', () => {
    const single = GOOD.replace(/FROM node:20.20.2-bookworm-slim AS build[\s\S]*?RUN npm ci\n/, '').replace('COPY --from=build /app/ ./\n', '');
    expect(rules(single)).toEqual(['multi-stage']);
  });

  it.each([
    ['FROM node AS build', /has no tag/],
    ['FROM node:latest AS build', /"latest" moves/],
    ['FROM node:20 AS build', /"20" is not an exact version/],
    ['FROM node:20-bookworm-slim AS build', /not an exact version/],
    ['FROM node:20.20-slim AS build', /not an exact version/],
    ['ARG IMG\nFROM ${IMG} AS build', /uses an ARG without a default/],
  ])('pinned-base: %s is refused', (from, message) => {
    const f = lint(variant('FROM node:20.20.2-bookworm-slim AS build', from));
    expect(f.map((x) => x.rule)).toEqual(['pinned-base']);
    expect(f[0]?.message).toMatch(message);
  });

  it('pinned-base: an exact tag from an ARG default, a digest, and earlier stages are accepted', () => {
    expect(lint(variant('FROM node:20.20.2-bookworm-slim AS build', 'ARG IMG=node:20.20.2-bookworm-slim\nFROM ${IMG} AS build'))).toEqual([]);
    expect(lint(variant('FROM node:20.20.2-bookworm-slim AS build', `FROM node@sha256:${'a'.repeat(64)} AS build`))).toEqual([]);
  });

  it.each([
    ['USER 1000:1000\n', '', /runs as root/],
    ['USER 1000:1000', 'USER node', /numeric uid/],
    ['USER 1000:1000', 'USER 0:0', /USER 0 is root/],
    ['USER 1000:1000', '# runs-as-root:', /must give the reason/],
  ])('non-root: final stage with %j → %j is refused', (from, to, message) => {
    const f = lint(variant(from, to));
    expect(f.map((x) => x.rule)).toEqual(['non-root']);
    expect(f[0]?.message).toMatch(message);
  });

  it('non-root: a reasoned runs-as-root comment in the final stage is accepted, one in another stage is not', () => {
    const reason = '# runs-as-root: talks to the host libvirt socket, which is root-only\n';
    expect(lint(variant('USER 1000:1000\n', reason))).toEqual([]);
    expect(rules(variant('USER 1000:1000\n', '').replace('WORKDIR /app\nCOPY package.json', `${reason}WORKDIR /app\nCOPY package.json`))).toEqual(['non-root']);
  });

  it.each([
    ['CMD ["node", "main.js"]', 'CMD node main.js', /exec form/],
    ['CMD ["node", "main.js"]', 'ENTRYPOINT node main.js', /exec form/],
    ['CMD ["node", "main.js"]', "CMD ['node', 'main.js']", /exec form/],
    ['CMD ["node", "main.js"]\n', '', /no CMD or ENTRYPOINT/],
  ])('exec-form: %j → %j is refused', (from, to, message) => {
    const f = lint(variant(from, to)).filter((x) => x.rule !== 'dockerfile-utils');
    expect(f.map((x) => x.rule)).toEqual(['exec-form']);
    expect(f[0]?.message).toMatch(message);
  });

  it.each(['npm install', 'npm i', 'npm install --omit=dev', 'cd x && npm add left-pad'])('npm-ci: RUN %s is refused', (cmd) => {
    expect(rules(variant('RUN npm ci', `RUN ${cmd}`))).toEqual(['npm-ci']);
  });

  it.each([
    ['COPY missing.txt ./', /does not exist/],
    ['COPY lib/node_modules/x ./x', /excluded by .dockerignore/],
    ['COPY server.key ./', /excluded by .dockerignore/],
    ['COPY ../outside ./', /outside the build context/],
    ['COPY *.json.bak ./', /does not exist/],
    ['ADD https://example.org/x.tgz ./', /not ADD/],
  ])('copy-source: %s is refused', (copy, message) => {
    const f = lint(variant('COPY package.json ./', copy));
    expect(f.map((x) => x.rule)).toEqual(['copy-source']);
    expect(f[0]?.message).toMatch(message);
  });

  it('copy-source: wildcards that match, JSON form and --from copies are accepted', () => {
    expect(lint(variant('COPY package.json ./', 'COPY *.json ./'))).toEqual([]);
    expect(lint(variant('COPY package.json ./', 'COPY ["package.json", "./"]'))).toEqual([]);
  });

  it('oci-labels: a missing label is named; labels of the build stage do not count', () => {
    const f = lint(variant(/ \\\n\s+org\.opencontainers\.image\.licenses="Apache-2.0"/, ''));
    expect(f.map((x) => x.rule)).toEqual(['oci-labels']);
    expect(f[0]?.message).toMatch(/org\.opencontainers\.image\.licenses/);
    const labels = /LABEL[\s\S]*?title="x"\n/.exec(GOOD)?.[0] ?? '';
    const moved = variant(labels, '').replace('WORKDIR /app\nCOPY package.json', `${labels}WORKDIR /app\nCOPY package.json`);
    expect(rules(moved)).toEqual(['oci-labels']);
  });
});

describe('.dockerignore matching', () => {
  const rules = parseDockerignore('# comment\n**/node_modules\ndist\n*.pem\n!keep.pem\n/secrets/\n');
  it.each([
    ['node_modules', true],
    ['a/b/node_modules/x/index.js', true],
    ['dist/x.js', true],
    ['a/dist/x.js', false],
    ['key.pem', true],
    ['keep.pem', false],
    ['a/key.pem', false],
    ['secrets/token', true],
    ['src/index.ts', false],
  ])('%s ignored: %s', (path, ignored) => {
    expect(isIgnored(path, rules)).toBe(ignored);
  });

  it("the repository's .dockerignore keeps installs, build output and secret-looking files out, and the sources in", () => {
    const repo = readDockerignore(ROOT);
    for (const p of ['node_modules/x', 'services/api/node_modules/x', 'gateway/dist/src/main.js', '.git/HEAD', 'test-artifacts/a.png', 'a/.env', 'x/tls.key', '.npmrc', '.vitest-results/results.json']) expect(isIgnored(p, repo), p).toBe(true);
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.base.json', 'gateway/src/main.ts', 'services/api/package.json', 'web-console/index.html']) expect(isIgnored(p, repo), p).toBe(false);
  });
});

describe('the CLI', () => {
  const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const cli = (args: string[]) => spawnSync(process.execPath, [tsx, join(__dirname, 'dockerfile-lint.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

  it('prints each finding and exits 1 when there is one', () => {
    const file = join(context, 'Dockerfile.bad');
    writeFileSync(file, GOOD.replace('RUN npm ci', 'RUN npm install'));
    const r = cli(['--context', context, file]);
    expect(r.stdout).toMatch(/Dockerfile\.bad:6: npm-ci: /);
    expect(r.stdout).toMatch(/1 finding\(s\) in 1 Dockerfile\(s\)/);
    expect(r.status).toBe(1);
  });

  it('exits 0 on the repository', () => {
    const r = cli([]);
    expect(r.stdout).toMatch(/Dockerfile\(s\): no findings/);
    expect(r.status).toBe(0);
  }, 30_000);
});
