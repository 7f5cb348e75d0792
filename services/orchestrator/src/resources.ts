/** The resource types the orchestrator reads and writes, and the status-write helpers it uses. */
import {
  DesktopMigrationKind,
  DesktopTemplateKind,
  GROUP,
  KvmHostKind,
  setCondition,
  VERSION,
  VirtualDesktopKind,
  type Condition,
  type ConditionInput,
  type DesktopMigration,
  type DesktopTemplate,
  type KvmHost,
  type VirtualDesktop,
} from '@deskplane/api';
import { retryOnConflict, type KubeObject, type ResourceClient, type ResourceType } from '@deskplane/resource-store';

const typeOf = (info: { kind: string; plural: string; namespaced: boolean }): ResourceType => ({ group: GROUP, version: VERSION, kind: info.kind, plural: info.plural, namespaced: info.namespaced });

export const RESOURCE_TYPES = {
  KvmHost: typeOf(KvmHostKind.info),
  VirtualDesktop: typeOf(VirtualDesktopKind.info),
  DesktopMigration: typeOf(DesktopMigrationKind.info),
  DesktopTemplate: typeOf(DesktopTemplateKind.info),
} as const;

export type HostObject = KvmHost & KubeObject;
export type DesktopObject = VirtualDesktop & KubeObject;
export type MigrationObject = DesktopMigration & KubeObject;
export type TemplateObject = DesktopTemplate & KubeObject;

/** The status fields a step owns: set these, remove those, set these conditions. */
export interface StatusPatch<S> {
  set?: Partial<S>;
  unset?: ReadonlyArray<keyof S>;
  conditions?: readonly ConditionInput[];
}

/** Pure: the status after the patch (conditions through setCondition, so transition times stay right). */
export function applyStatusPatch<S extends object>(status: S | undefined, patch: StatusPatch<S>, now: Date): S {
  const next = { ...(status ?? {}), ...(patch.set ?? {}) } as S & { conditions?: Condition[] };
  for (const k of patch.unset ?? []) delete (next as Record<string, unknown>)[k as string];
  let conditions = next.conditions;
  for (const c of patch.conditions ?? []) conditions = setCondition(conditions, c, now);
  if (conditions) next.conditions = conditions;
  return next;
}

/**
 * Applies the patch through /status on a fresh copy, re-reading on conflicts. Never touches
 * an object whose uid is not `uid` (deleted and recreated under the same name). Returns the
 * written (or unchanged) object, undefined when it is gone or recreated.
 */
export async function writeStatus<T extends KubeObject>(
  client: ResourceClient<T>,
  ref: { namespace: string; name: string; uid: string },
  patch: StatusPatch<NonNullable<T['status']> & object> | ((current: T) => StatusPatch<NonNullable<T['status']> & object> | undefined),
  now: Date,
): Promise<T | undefined> {
  let mismatch = false;
  const written = await retryOnConflict(
    client,
    ref.name,
    ref.namespace,
    (current) => {
      if (current.metadata.uid !== ref.uid) {
        mismatch = true;
        return undefined;
      }
      const p = typeof patch === 'function' ? patch(current) : patch;
      if (!p) return undefined;
      const next = applyStatusPatch((current.status ?? {}) as NonNullable<T['status']> & object, p, now);
      return JSON.stringify(next) === JSON.stringify(current.status ?? {}) ? undefined : { ...current, status: next };
    },
    { status: true },
  );
  return mismatch ? undefined : written;
}

/** Metadata write (labels, finalizers) on a fresh copy; skipped for a recreated object or when `mutate` returns undefined. */
export async function writeMeta<T extends KubeObject>(
  client: ResourceClient<T>,
  ref: { namespace: string; name: string; uid: string },
  mutate: (meta: T['metadata']) => T['metadata'] | undefined,
): Promise<void> {
  await retryOnConflict(client, ref.name, ref.namespace, (current) => {
    if (current.metadata.uid !== ref.uid) return undefined;
    const meta = mutate(current.metadata);
    return meta ? { ...current, metadata: meta } : undefined;
  });
}

/** Pure metadata edits for writeMeta. */
export const withLabel =
  (key: string, value: string) =>
  <M extends KubeObject['metadata']>(m: M): M | undefined =>
    m.deletionTimestamp || m.labels?.[key] === value ? undefined : { ...m, labels: { ...m.labels, [key]: value } };

export const withoutFinalizer =
  (finalizer: string) =>
  <M extends KubeObject['metadata']>(m: M): M | undefined =>
    m.finalizers?.includes(finalizer) ? { ...m, finalizers: m.finalizers.filter((f) => f !== finalizer) } : undefined;
