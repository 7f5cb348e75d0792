import { closeSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, statePath, type TestbedConfig } from './config';
import { ensureDebianPackages } from './debian';
import { ensureGuestImage, GUEST_PACKAGES } from './guest-image';
import { checkHost, startHost, stopHost } from './hosts';
import { ensureHelm } from './helm';
import { checkKube, ensureKubeBinaries, KUBE_PACKAGES, startKube, stopKube } from './kube';
import { isRunning, type Log } from './process';
import { checkRedis, REDIS_PACKAGES, startRedis, stopRedis } from './redis';
import { STATE_VERSION, type TestbedState } from './state';
import { readState, writeState } from './state-file';
import { VIEWER_PACKAGES } from './viewer';

export interface PartStatus {
  part: string;
  ok: boolean;
  detail: string;
}

const quiet: Log = () => undefined;

/**
 * Tools the repository's own checks need beside the testbed: protoc for proto/generate.sh,
 * remote-viewer on Xvfb for the gateway's end-to-end display tests, chromium for the web
 * console's playwright-core tests (never a browser playwright downloads itself).
 */
export const TOOL_PACKAGES: readonly string[] = ['protobuf-compiler', 'chromium', 'unzip', ...VIEWER_PACKAGES];

/**
 * Brings the testbed up, or finds it up. Idempotent per part: a healthy part is kept, a
 * dead one is cleaned up and started again, so `up` after a crash mends what is missing.
 */
export async function up(overrides: Partial<TestbedConfig> = {}, log: Log = quiet): Promise<TestbedState> {
  const cfg = resolveConfig(overrides);
  mkdirSync(cfg.stateDir, { recursive: true });
  const release = acquireLock(cfg.stateDir);
  try {
    return await bringUp(cfg, log);
  } finally {
    release();
  }
}

async function bringUp(cfg: TestbedConfig, log: Log): Promise<TestbedState> {
  const file = statePath(cfg.stateDir);
  const state: TestbedState = readState(file) ?? {
    version: STATE_VERSION,
    name: cfg.name,
    stateDir: cfg.stateDir,
    cacheDir: cfg.cacheDir,
    startedAt: new Date().toISOString(),
    hosts: [],
  };
  const save = (): void => writeState(file, state);

  await ensureDebianPackages(
    [
      ...TOOL_PACKAGES,
      ...(cfg.parts.redis ? REDIS_PACKAGES : []),
      ...(cfg.parts.kube ? KUBE_PACKAGES : []),
      ...(cfg.parts.hosts ? GUEST_PACKAGES : []),
    ],
    log,
  );

  // The kube build is the long pole on a cold machine; everything else runs beside it.
  const kubeBinaries = cfg.parts.kube ? ensureKubeBinaries(cfg.cacheDir, log) : undefined;
  kubeBinaries?.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile

  if (cfg.parts.redis && !(await healthy(() => checkRedis(state.redis)))) {
    if (state.redis) await stopRedis(state.redis);
    state.redis = await startRedis({ stateDir: cfg.stateDir, log });
    save();
  }

  if (cfg.parts.hosts) {
    state.guestImage = await ensureGuestImage(cfg.cacheDir, log);
    save();
    await bringUpHosts(cfg, state, log, save);
  }

  if (cfg.parts.kube && !(await healthy(() => checkKube(state.kube)))) {
    await kubeBinaries;
    if (state.kube) await stopKube(state.kube);
    state.kube = await startKube({ stateDir: cfg.stateDir, cacheDir: cfg.cacheDir, log });
    save();
  }
  if (state.kube && !state.kube.helm) {
    state.kube.helm = await ensureHelm(cfg.cacheDir, log);
    save();
  }
  save();
  return state;
}

async function bringUpHosts(cfg: TestbedConfig, state: TestbedState, log: Log, save: () => void): Promise<void> {
  for (let i = 1; i <= cfg.hosts; i++) {
    const name = `host-${i}`;
    const existing = state.hosts.find((h) => h.name === name);
    if (existing && (await healthy(() => checkHost(existing)))) continue;
    if (existing) await stopHost(existing);
    // A restarted host keeps the address it had, whatever subnet this call was given.
    const address = existing?.address ?? `127.0.${cfg.hostSubnet}.${i}`;
    const host = await startHost({ index: i, name, address, stateDir: cfg.stateDir, log });
    state.hosts = [...state.hosts.filter((h) => h.name !== name), host].sort((a, b) => a.name.localeCompare(b.name));
    save();
  }
  // Hosts beyond the requested count (a smaller `up` after a bigger one) are stopped.
  for (const extra of state.hosts.filter((h) => Number(h.name.split('-')[1]) > cfg.hosts)) await stopHost(extra);
  state.hosts = state.hosts.filter((h) => Number(h.name.split('-')[1]) <= cfg.hosts);
}

async function healthy(check: () => Promise<void>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops Redis and starts it again on the same port with the same data (chaos tests:
 * "restart Redis in the middle of a flow"). Returns the new state; the file is updated.
 */
export async function restartRedis(overrides: Partial<TestbedConfig> = {}, log: Log = quiet): Promise<TestbedState> {
  const cfg = resolveConfig(overrides);
  const file = statePath(cfg.stateDir);
  const state = readState(file);
  if (!state?.redis) throw new Error(`testbed "${cfg.name}" runs no Redis`);
  await stopRedis(state.redis);
  state.redis = await startRedis({ stateDir: cfg.stateDir, log, port: state.redis.port });
  writeState(file, state);
  return state;
}

/** Stops every process of the instance by pid, waits for them and removes its state dir. */
export async function down(overrides: Partial<TestbedConfig> = {}, log: Log = quiet): Promise<void> {
  const cfg = resolveConfig(overrides);
  const state = readState(statePath(cfg.stateDir));
  if (state) {
    const release = acquireLock(cfg.stateDir);
    try {
      for (const h of state.hosts) {
        log(`stopping ${h.name}`);
        await stopHost(h);
      }
      if (state.kube) {
        log('stopping kube-apiserver and etcd');
        await stopKube(state.kube);
      }
      if (state.redis) {
        log('stopping redis');
        await stopRedis(state.redis);
      }
    } finally {
      release();
    }
  }
  rmSync(cfg.stateDir, { recursive: true, force: true });
  log(`testbed "${cfg.name}" is down`);
}

/** Health of each part that the state file says is up; never throws for a sick part. */
export async function status(overrides: Partial<TestbedConfig> = {}): Promise<{ state?: TestbedState; parts: PartStatus[] }> {
  const cfg = resolveConfig(overrides);
  const state = readState(statePath(cfg.stateDir));
  if (!state) return { parts: [] };
  const probe = async (part: string, check: () => Promise<void>, detail: string): Promise<PartStatus> => {
    try {
      await check();
      return { part, ok: true, detail };
    } catch (e) {
      return { part, ok: false, detail: (e as Error).message };
    }
  };
  const parts = await Promise.all([
    ...(state.redis ? [probe('redis', () => checkRedis(state.redis), state.redis.url)] : []),
    ...(state.kube ? [probe('kube-apiserver', () => checkKube(state.kube), `${state.kube.apiserver.url} (${state.kube.version})`)] : []),
    ...state.hosts.map((h) => probe(h.name, () => checkHost(h), `${h.hostname} ${h.address} ${h.libvirtUri}`)),
  ]);
  return { state, parts };
}

/** One `up` or `down` at a time per instance (the CLI and a test run may race). */
function acquireLock(stateDir: string): () => void {
  const lock = join(stateDir, '.lock');
  mkdirSync(stateDir, { recursive: true });
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch {
      const holder = Number(readFileSync(lock, 'utf8') || 0);
      if (holder && holder !== process.pid && isRunning({ pid: holder, match: '' })) {
        throw new Error(`another testbed command (pid ${holder}) holds ${lock}; wait for it or stop it`);
      }
      unlinkSync(lock); // stale: its holder is gone
    }
  }
}
