import { join } from 'node:path';

/** Where the testbed keeps things. Both live outside the repository on purpose. */
export interface TestbedConfig {
  /** Instance name; lets a test run a second, throwaway testbed beside the shared one. */
  name: string;
  /** Running state, logs, host roots, guest disks: `/var/lib/deskplane-testbed/<name>`. */
  stateDir: string;
  /** Built binaries and guest images, keyed by version: `/var/cache/deskplane`. */
  cacheDir: string;
  /** Number of simulated KVM hosts. */
  hosts: number;
  /** Third octet of the hosts' loopback addresses: host N listens on 127.0.<subnet>.N. */
  hostSubnet: number;
  /** Which parts to bring up (tests of `down` use a smaller testbed). */
  parts: { redis: boolean; kube: boolean; hosts: boolean };
}

export function resolveConfig(overrides: Partial<TestbedConfig> = {}, env = process.env): TestbedConfig {
  const name = overrides.name ?? env.DESKPLANE_TESTBED_NAME ?? 'default';
  const stateRoot = env.DESKPLANE_TESTBED_ROOT ?? '/var/lib/deskplane-testbed';
  return {
    name,
    stateDir: overrides.stateDir ?? join(stateRoot, name),
    cacheDir: overrides.cacheDir ?? env.DESKPLANE_CACHE ?? '/var/cache/deskplane',
    hosts: overrides.hosts ?? Number(env.DESKPLANE_TESTBED_HOSTS ?? 2),
    hostSubnet: overrides.hostSubnet ?? 1,
    parts: overrides.parts ?? { redis: true, kube: true, hosts: true },
  };
}

export const statePath = (stateDir: string): string => join(stateDir, 'testbed.json');
