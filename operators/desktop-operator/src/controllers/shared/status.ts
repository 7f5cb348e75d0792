/**
 * Writing what a reconciler decided: status patches applied on a fresh copy (never on
 * the informer's objects), conditions through setCondition, finalizers added and removed
 * with retryOnConflict. Writes that would change nothing are skipped, so a reconcile that
 * is woken by its own status write ends there.
 */
import { setCondition, type Condition, type ConditionInput } from '@deskplane/api';
import { retryOnConflict, type KubeObject, type ResourceClient } from '@deskplane/resource-store';

/** The status fields a reconciler owns: set these, remove those, set these conditions. */
export interface StatusPatch<S> {
  set?: Partial<S>;
  unset?: ReadonlyArray<keyof S>;
  conditions?: readonly ConditionInput[];
}

type WithConditions = { conditions?: Condition[] };

/** Pure: the status after the patch. `now` stamps conditions whose status changes. */
export function applyStatusPatch<S extends object>(status: S | undefined, patch: StatusPatch<S>, now: Date): S {
  const next = { ...(status ?? {}), ...(patch.set ?? {}) } as S & WithConditions;
  for (const k of patch.unset ?? []) delete (next as Record<string, unknown>)[k as string];
  if (patch.conditions?.length) {
    let conditions = next.conditions;
    for (const c of patch.conditions) conditions = setCondition(conditions, c, now);
    next.conditions = conditions;
  }
  return next;
}

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

/** Removes the finalizer; the store deletes the object when it was the last one. */
export async function removeFinalizer<T extends KubeObject>(client: ResourceClient<T>, obj: Pick<T, 'metadata'>, finalizer: string): Promise<void> {
  await retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (current) => {
    if (current.metadata.uid !== obj.metadata.uid || !hasFinalizer(current, finalizer)) return undefined;
    return { ...current, metadata: { ...current.metadata, finalizers: (current.metadata.finalizers ?? []).filter((f) => f !== finalizer) } };
  });
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
