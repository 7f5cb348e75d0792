/**
 * No container engine runs here, so the images are proven in three steps short of one:
 * each component's CMD runs from its build output in the repository; each Dockerfile's
 * COPY lines cover what `tsc -b` compiles and what the entry point loads; and each runtime
 * stage is rehearsed (manifests + `npm ci --omit=dev` for real, offline + the dist folders
 * it copies) and its CMD started there with only the image's ENV.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copies, execForm, parseDockerfile, type Stage } from './dockerfile';
import { dockerfileOf, IMAGES, listWorkspaces, mainOf, runtimeClosure, tsconfigClosure, type ImageSpec } from './images';
import { rehearse, run, startCmd, type Rehearsal } from './rehearse';

const ROOT = resolve(__dirname, '..', '..');
const PATH_ONLY = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const MODULE_CRASH = /Cannot find module|ERR_MODULE_NOT_FOUND|ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_REQUIRE_ESM/;

/** What each entry point says with no configuration at all (the gateway has defaults for everything). */
const CONFIG_ERRORS: Record<string, { code: number; message: RegExp }> = {
  'deskplane-operator': { code: 2, message: /DESKPLANE_OPERATOR_REDIS_URL: required/ },
  'deskplane-orchestrator': { code: 2, message: /DESKPLANE_ORCHESTRATOR_REDIS_URL .*is required/ },
  'deskplane-host-agent': { code: 2, message: /DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: is required/ },
  'deskplane-api': { code: 2, message: /DESKPLANE_API_USERS_FILE: no way to sign in is configured/ },
};
const GATEWAY_EPHEMERAL = { DESKPLANE_GATEWAY_LISTEN: '127.0.0.1:0', DESKPLANE_GATEWAY_ADMIN_LISTEN: '127.0.0.1:0', DESKPLANE_GATEWAY_METRICS_LISTEN: '127.0.0.1:0' };
const GATEWAY_STARTED = /"msg":"gateway started"/;

const withConfigError = IMAGES.filter((i) => CONFIG_ERRORS[i.name]);
const named = IMAGES.map((i) => [i.name, i] as const);
const gateway = IMAGES.find((i) => i.name === 'deskplane-gateway') as ImageSpec;

beforeAll(async () => {
  // Incremental: a no-op when dist/ is current, ~15 s from nothing.
  const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...IMAGES.map((i) => i.dir)], { cwd: ROOT, env: process.env, timeoutMs: 120_000 });
  expect(tsc.stdout + tsc.stderr, 'tsc -b of the five components').toBe('');
  expect(tsc.code).toBe(0);
  if (!existsSync(join(ROOT, 'web-console/dist/index.html'))) {
    const vite = await run('npm', ['run', 'build', '--workspace=@deskplane/web-console'], { cwd: ROOT, env: process.env, timeoutMs: 120_000 });
    expect(vite.code, vite.stderr).toBe(0);
  }
}, 240_000);

describe('each CMD runs from the build output in the repository', () => {
  it.each(withConfigError.map((i) => [i.name, i] as const))('%s: node <dir>/dist/src/main.js with an empty environment stops with its config error', async (_name, image) => {
    const r = await run(process.execPath, [mainOf(image)], { cwd: ROOT, env: PATH_ONLY, timeoutMs: 20_000 });
    const expected = CONFIG_ERRORS[image.name] as { code: number; message: RegExp };
    expect(r.stderr).not.toMatch(MODULE_CRASH);
    expect(r.stderr).toMatch(expected.message);
    expect(r.code).toBe(expected.code);
  });

  it('deskplane-gateway: starts on its defaults (ports moved to free ones) and stops cleanly on SIGTERM', async () => {
    const r = await run(process.execPath, [mainOf(gateway)], { cwd: ROOT, env: { ...PATH_ONLY, ...GATEWAY_EPHEMERAL }, timeoutMs: 20_000, stopWhen: GATEWAY_STARTED });
    expect(r.stdout).toMatch(GATEWAY_STARTED);
    expect(r.stdout).toMatch(/"msg":"stopping"/);
    expect(r.code).toBe(0);
  });

  it('deskplane-gateway: a bad setting stops it with exit 2 naming the variable', async () => {
    const r = await run(process.execPath, [mainOf(gateway)], { cwd: ROOT, env: { ...PATH_ONLY, DESKPLANE_GATEWAY_LISTEN: 'nowhere' }, timeoutMs: 20_000 });
    expect(r.stderr).toMatch(/bad configuration: DESKPLANE_GATEWAY_LISTEN/);
    expect(r.code).toBe(2);
  });
});

const stageOf = (image: ImageSpec): { manifests: Stage; build: Stage; runtime: Stage } => {
  const df = parseDockerfile(readFileSync(join(ROOT, dockerfileOf(image)), 'utf8'));
  const byName = (n: string): Stage => df.stages.find((s) => s.name === n) as Stage;
  return { manifests: byName('manifests'), build: byName('build'), runtime: df.stages[df.stages.length - 1] as Stage };
};
const runs = (s: Stage): string[] => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const distOf = (dir: string): string => (dir === 'packages/spice-protocol' ? `${dir}/dist/` : `${dir}/dist/src/`);

describe('each Dockerfile copies what its stages need', () => {
  const workspaces = listWorkspaces(ROOT);

  it.each(named)('%s: the manifests stage has the lock file and every workspace manifest', (_name, image) => {
    const copied = copies(stageOf(image).manifests).flatMap((c) => c.sources);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', ...workspaces.map((w) => `${w.dir}/package.json`)]));
  });

  it.each(named)('%s: the build stage has every project `tsc -b` reaches, and builds it', (_name, image) => {
    const { build } = stageOf(image);
    const copied = copies(build).flatMap((c) => c.sources.map((s) => s.replace(/\/$/, '')));
    expect(copied).toEqual(expect.arrayContaining(['tsconfig.base.json', ...tsconfigClosure(ROOT, image.dir)]));
    expect(runs(build)).toContain(`npx tsc -b ${image.dir}`);
  });

  it.each(named)('%s: the runtime stage installs production dependencies and copies the dist of every workspace main.js loads', (_name, image) => {
    const { runtime } = stageOf(image);
    const closure = runtimeClosure(ROOT, mainOf(image));
    expect(closure.undeclared, 'imports missing from the importing package.json dependencies').toEqual([]);
    expect(closure.workspaces).toContain(image.dir);
    const fromBuild = copies(runtime).filter((c) => c.from === 'build').flatMap((c) => c.sources);
    expect(fromBuild).toEqual(expect.arrayContaining(closure.workspaces.map((w) => `/app/${distOf(w)}`)));
    expect(runs(runtime).some((r) => r.startsWith('npm ci --omit=dev') && r.includes(`--workspace=${image.pkg} `))).toBe(true);
    const cmd = runtime.instructions.filter((i) => i.keyword === 'CMD').pop();
    expect(execForm(cmd?.args ?? '')).toEqual(['node', mainOf(image)]);
  });

  it('deskplane-api: the build stage bundles the web console and the runtime serves it from /app/web-console/dist', () => {
    const { build, runtime } = stageOf(IMAGES.find((i) => i.name === 'deskplane-api') as ImageSpec);
    expect(runs(build)).toContain('npm run build --workspace=@deskplane/web-console');
    expect(copies(runtime).some((c) => c.from === 'build' && c.sources.includes('/app/web-console/dist/'))).toBe(true);
    expect(runtime.instructions.some((i) => i.keyword === 'ENV' && i.args === 'DESKPLANE_API_UI_DIR=/app/web-console/dist')).toBe(true);
  });
});

describe('each runtime stage, rehearsed without an engine, starts its CMD', () => {
  const work = mkdtempSync(join(tmpdir(), 'images-run-'));
  const rehearsed = new Map<string, Rehearsal>();

  beforeAll(async () => {
    // Concurrently: the npm ci runs dominate and overlap well.
    const done = await Promise.all(IMAGES.map((i) => rehearse({ root: ROOT, dockerfile: dockerfileOf(i), mode: 'runtime', workDir: join(work, i.name) })));
    IMAGES.forEach((i, n) => rehearsed.set(i.name, done[n] as Rehearsal));
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(withConfigError.map((i) => [i.name, i] as const))('%s: the CMD stops with its config error, not a missing module', async (_name, image) => {
    const r = await startCmd(rehearsed.get(image.name) as Rehearsal);
    const expected = CONFIG_ERRORS[image.name] as { code: number; message: RegExp };
    expect(r.stderr).not.toMatch(MODULE_CRASH);
    expect(r.stderr).toMatch(expected.message);
    expect(r.code).toBe(expected.code);
  });

  it('deskplane-gateway: the CMD starts and stops cleanly', async () => {
    const r = await startCmd(rehearsed.get(gateway.name) as Rehearsal, { env: GATEWAY_EPHEMERAL, stopWhen: GATEWAY_STARTED });
    expect(r.stdout).toMatch(GATEWAY_STARTED);
    expect(r.code).toBe(0);
  });

  it.each(named)('%s: the runtime holds its own package and no build tooling', (_name, image) => {
    const r = rehearsed.get(image.name) as Rehearsal;
    expect(existsSync(join(r.cwd, 'node_modules', image.pkg, 'package.json'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'vite', 'tsx', 'eslint']) expect(existsSync(join(r.cwd, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(r.cwd, image.dir, 'src')), 'TypeScript sources').toBe(false);
    expect(existsSync(join(r.cwd, image.dir, 'dist/test')), 'compiled tests').toBe(false);
  });

  it('deskplane-api: DESKPLANE_API_UI_DIR points at the built console inside the image', () => {
    const r = rehearsed.get('deskplane-api') as Rehearsal;
    expect(r.env.DESKPLANE_API_UI_DIR).toBe(join(r.rootfs, 'app/web-console/dist'));
    expect(existsSync(join(r.env.DESKPLANE_API_UI_DIR as string, 'index.html'))).toBe(true);
  });

  it('deskplane-host-agent: the apt-get step is reported as not rehearsed, never run here', () => {
    const r = rehearsed.get('deskplane-host-agent') as Rehearsal;
    expect(r.skipped.some((s) => s.startsWith('apt-get install -y --no-install-recommends libvirt-clients qemu-utils'))).toBe(true);
    expect(r.ran.some((s) => s.startsWith('npm ci --omit=dev'))).toBe(true);
  });

  it('a runtime stage that forgets a workspace dist is caught: its CMD dies on the missing module', async () => {
    const hostAgent = IMAGES.find((i) => i.name === 'deskplane-host-agent') as ImageSpec;
    const original = readFileSync(join(ROOT, dockerfileOf(hostAgent)), 'utf8');
    const broken = original.replace(/^COPY --from=build \/app\/packages\/grpc-contracts\/dist\/src\/.*\n/m, '');
    expect(broken).not.toBe(original);
    const file = join(work, 'broken.Dockerfile');
    writeFileSync(file, broken);
    const r = await rehearse({ root: ROOT, dockerfile: file, mode: 'runtime', workDir: join(work, 'broken') });
    const out = await startCmd(r);
    expect(out.stderr).toMatch(/Cannot find module .*grpc-contracts/);
    expect(out.code).not.toBe(0);
  }, 60_000);
});
