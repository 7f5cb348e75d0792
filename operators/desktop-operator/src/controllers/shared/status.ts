/**
 * Writing what a reconciler decided: status patches applied on a fresh copy (never on
 * the informer's objects), conditions through setCondition, finalizers added and removed
 * with retryOnConflict. Writes that would change nothing are skipped, so a reconcile that
 * is woken by its own status write ends there.
 */
import { applyStatusPatch, type StatusPatch } from '@deskplane/api';
import { retryOnConflict, type KubeObject, type ResourceClient } from '@deskplane/resource-store';

export { applyStatusPatch, type StatusPatch };

/** Structural equality of JSON values, ignoring key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Applies the patch to the object's current status through /status, re-reading and
 * re-applying on conflicts. Returns the written object, the current one when nothing
 * changed, or undefined when the object is gone.
 */
export async function writeStatus<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: Pick<T, 'metadata'>,
  patch: StatusPatch<NonNullable<T['status']> & object>,
  now: Date,
): Promise<T | undefined> {
  return retryOnConflict(
    client,
    obj.metadata.name,
    obj.metadata.namespace,
    (current) => {
      if (current.metadata.uid !== obj.metadata.uid) return undefined; // recreated under the same name
      const next = applyStatusPatch(current.status as (NonNullable<T['status']> & object) | undefined, patch, now);
      return sameJson(next, current.status ?? {}) ? undefined : { ...current, status: next };
    },
    { status: true },
  );
}

export function hasFinalizer(obj: Pick<KubeObject, 'metadata'>, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** Adds the finalizer (no-op when present or when the object is being deleted). */
export async function addFinalizer<T extends KubeObject>(client: ResourceClient<T>, obj: Pick<T, 'metadata'>, finalizer: string): Promise<T | undefined> {
  return retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (current) => {
    if (current.metadata.uid !== obj.metadata.uid || current.metadata.deletionTimestamp || hasFinalizer(current, finalizer)) return undefined;
    return { ...current, metadata: { ...current.metadata, finalizers: [...(current.metadata.finalizers ?? []), finalizer] } };
  });
}

/**
 * Removes the finalizer; the store deletes the object when it was the last one. `unless`
 * is checked against the freshly read object on every attempt: when it holds, the
 * finalizer stays (a writer that changed the object since our read wins the race).
 * Returns true when this call removed it.
 */
export async function removeFinalizer<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: Pick<T, 'metadata'>,
  finalizer: string,
  unless?: (current: T) => boolean,
): Promise<boolean> {
  let removed = false;
  await retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (current) => {
    removed = false;
    if (current.metadata.uid !== obj.metadata.uid || !hasFinalizer(current, finalizer) || unless?.(current)) return undefined;
    removed = true;
    return { ...current, metadata: { ...current.metadata, finalizers: (current.metadata.finalizers ?? []).filter((f) => f !== finalizer) } };
  });
  return removed;
}

/** Sets labels on the object (metadata write), skipping when they are already there. */
export async function ensureLabels<T extends KubeObject>(client: ResourceClient<T>, obj: Pick<T, 'metadata'>, labels: Record<string, string>): Promise<void> {
  await retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (current) => {
    if (current.metadata.uid !== obj.metadata.uid || current.metadata.deletionTimestamp) return undefined;
    const have = current.metadata.labels ?? {};
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return undefined;
    return { ...current, metadata: { ...current.metadata, labels: { ...have, ...labels } } };
  });
}

/**
 * One metadata write: sets and removes labels and annotations (absent keys stay absent).
 * Skipped when nothing would change or the object is being deleted.
 */
export async function patchMetadata<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: Pick<T, 'metadata'>,
  p: { labels?: Record<string, string | null>; annotations?: (current: T) => Record<string, string | null> },
): Promise<void> {
  const merge = (have: Record<string, string> | undefined, change: Record<string, string | null>): Record<string, string> => {
    const out = { ...have };
    for (const [k, v] of Object.entries(change)) {
      if (v === null) delete out[k];
      else out[k] = v;
    }
    return out;
  };
  await retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (current) => {
    if (current.metadata.uid !== obj.metadata.uid || current.metadata.deletionTimestamp) return undefined;
    const labels = merge(current.metadata.labels, p.labels ?? {});
    const annotations = merge(current.metadata.annotations, p.annotations?.(current) ?? {});
    if (sameJson(labels, current.metadata.labels ?? {}) && sameJson(annotations, current.metadata.annotations ?? {})) return undefined;
    return { ...current, metadata: { ...current.metadata, labels, annotations } };
  });
}
