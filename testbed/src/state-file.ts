import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { resolveConfig, statePath } from './config';
import { DependencyUnavailableError } from './errors';
import { STATE_VERSION, type TestbedState } from './state';

/** Where tests and tools find the testbed: $DESKPLANE_TESTBED_STATE, else the default instance. */
export function defaultStatePath(env = process.env): string {
  return env.DESKPLANE_TESTBED_STATE ?? statePath(resolveConfig({}, env).stateDir);
}

export function readState(path: string): TestbedState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const state = JSON.parse(text) as TestbedState;
  const version: unknown = state.version;
  if (version !== STATE_VERSION) {
    throw new Error(`${path} has testbed state version ${String(version)}, expected ${STATE_VERSION}; run "testbed down" then "testbed up"`);
  }
  return state;
}

/** Reads the running testbed's state or says plainly how to get one. */
export function loadState(path = defaultStatePath()): TestbedState {
  const state = readState(path);
  if (!state) {
    throw new DependencyUnavailableError('testbed', `no state file at ${path}; start it with "npm run testbed -- up"`);
  }
  return state;
}

/** Write-then-rename so a reader never sees half a file. */
export function writeState(path: string, state: TestbedState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
