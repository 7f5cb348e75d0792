import type { KubeObject, ResourceClient } from '@deskplane/resource-store';
import { vi } from 'vitest';

/**
 * Polls the store until `ok` accepts the object (or its absence); resolves with it. For
 * tests of the manager on the embedded store, where reconciles land within milliseconds.
 */
export function waitForObject<T extends KubeObject>(client: ResourceClient<T>, name: string, ok: (o: T | undefined) => boolean, namespace?: string): Promise<T> {
  return vi.waitFor(
    async () => {
      const o = await client.get(name, namespace);
      if (!ok(o)) throw new Error(`${name}: ${JSON.stringify(o?.metadata)} ${JSON.stringify(o?.status)}`);
      return o as T;
    },
    { timeout: 5_000, interval: 20 },
  );
}
