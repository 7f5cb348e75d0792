/**
 * release/build-images where no engine can build: it must say so and exit 2, never pretend.
 * The build path itself needs an engine and is not exercised here; --dry-run shows the
 * commands it would run, which is what these tests read.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGES } from './images';

const ROOT = resolve(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'release', 'build-images');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ENGINES = ['docker', 'podman', 'buildah'];

// node and the base tools, and none of the engines.
const BARE_PATH = [...new Set([dirname(process.execPath), '/usr/bin', '/bin'])].join(':');
const onBarePath = (bin: string): boolean => BARE_PATH.split(':').some((d) => existsSync(join(d, bin)));

const script = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync('bash', [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, DESKPLANE_REGISTRY: '', ...env } });

const dockerAnswers = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 15_000 }).status === 0;

describe('release/build-images', () => {
  it('with no engine installed: exits 2, names each engine it tried, builds nothing', () => {
    expect(ENGINES.filter(onBarePath), 'test precondition: no engine on the bare PATH').toEqual([]);
    const r = script([], { PATH: BARE_PATH });
    expect(r.stderr).toContain('no working container engine, nothing was built');
    for (const e of ENGINES) expect(r.stderr).toContain(`${e}: not installed`);
    expect(r.stdout).not.toMatch(/^\+ /m);
    expect(r.status).toBe(2);
  });

  it.runIf(!dockerAnswers && spawnSync('docker', ['--version']).status === 0)('with a docker client whose daemon does not answer (this machine): exits 2 and says why', () => {
    const r = script([]);
    expect(r.stderr).toMatch(/docker: installed, but `docker info` failed: .*daemon/i);
    expect(r.status).toBe(2);
  });

  it('an explicitly chosen engine that is missing is refused the same way', () => {
    const r = script(['--engine', 'podman'], { PATH: BARE_PATH });
    expect(r.stderr).toContain('podman: not installed');
    expect(r.status).toBe(2);
  });

  it.each([
    [['--only', 'deskplane-nope'], /unknown image: deskplane-nope/],
    [['--engine', 'rkt'], /unknown engine: rkt/],
    [['--bogus'], /unknown argument: --bogus/],
    [['--only'], /--only needs an image name/],
  ])('bad usage %j exits 64', (args, message) => {
    const r = script(args, { PATH: BARE_PATH });
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(64);
  });

  it('--dry-run: pulls the pinned base once, then builds and tags all five images <registry>/<name>:<version> from the repository root', () => {
    const r = script(['--dry-run'], { PATH: BARE_PATH, DESKPLANE_REGISTRY: 'registry.example/team/' });
    expect(r.status).toBe(0);
    const commands = r.stdout.split('\n').filter((l) => l.startsWith('+ '));
    expect(commands.filter((c) => c.includes(' pull '))).toEqual(['+ docker pull node:20.20.2-bookworm-slim']);
    const builds = commands.filter((c) => c.startsWith('+ docker build '));
    expect(builds.map((b) => /-t (\S+)/.exec(b)?.[1])).toEqual(IMAGES.map((i) => `registry.example/team/${i.name}:${VERSION}`));
    for (const [n, b] of builds.entries()) {
      expect(b).toContain(`-f ${ROOT}/${(IMAGES[n] as { dir: string }).dir}/Dockerfile`);
      expect(b).toContain(`--build-arg VERSION=${VERSION}`);
      expect(b).toMatch(/--build-arg REVISION=\S+/);
      expect(b).toContain('--build-arg BASE_DIGEST=<digest of node:20.20.2-bookworm-slim>');
      expect(b.endsWith(` ${ROOT}`)).toBe(true);
    }
    expect(commands.some((c) => c.includes(' push '))).toBe(false);
    expect(r.stdout).toContain('# record: base node:20.20.2-bookworm-slim');
  });

  it('--dry-run --only NAME --push: that image only, pushed after its build; default registry ghcr.io/deskplane', () => {
    const r = script(['--dry-run', '--only', 'deskplane-host-agent', '--push'], { PATH: BARE_PATH });
    expect(r.status).toBe(0);
    const commands = r.stdout.split('\n').filter((l) => l.startsWith('+ '));
    expect(commands.slice(1).map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['+ docker build', '+ docker push']);
    expect(commands[2]).toBe(`+ docker push ghcr.io/deskplane/deskplane-host-agent:${VERSION}`);
  });
});
