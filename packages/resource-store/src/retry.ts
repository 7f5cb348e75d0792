import { ConflictError } from './errors';
import type { KubeObject, ResourceClient } from './types';

/**
 * Read, change, write; on a conflict read again and re-apply the same change, so a write
 * racing with another never loses either change (client-go's RetryOnConflict).
 * `mutate` gets a fresh copy each time and returns the object to write, or undefined to
 * write nothing.
 */
export async function retryOnConflict<T extends KubeObject>(
  client: ResourceClient<T>,
  name: string,
  namespace: string | undefined,
  mutate: (current: T) => T | undefined,
  opts: { status?: boolean; attempts?: number } = {},
): Promise<T | undefined> {
  const attempts = opts.attempts ?? 10;
  for (let i = 1; ; i++) {
    const current = await client.get(name, namespace);
    if (!current) return undefined;
    const next = mutate(current);
    if (!next) return current;
    try {
      return await (opts.status ? client.updateStatus(next) : client.update(next));
    } catch (e) {
      if (!(e instanceof ConflictError) || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** i, 500) * Math.random()));
    }
  }
}
