/** The resource types the orchestrator reads and writes, and the status-write helpers it uses. */
import {
  DesktopMigrationKind,
  DesktopTemplateKind,
  KvmHostKind,
  VirtualDesktopKind,
  type DesktopMigration,
  type DesktopTemplate,
  type KvmHost,
  type VirtualDesktop,
} from '@deskplane/api';
import { retryOnConflict, type KubeObject, type ResourceClient, type ResourceType } from '@deskplane/resource-store';

// A kind's info carries group, version, kind, plural and scope: it is a ResourceType.
export const RESOURCE_TYPES = {
  KvmHost: KvmHostKind.info,
  VirtualDesktop: VirtualDesktopKind.info,
  DesktopMigration: DesktopMigrationKind.info,
  DesktopTemplate: DesktopTemplateKind.info,
} as const satisfies Record<string, ResourceType>;

export type HostObject = KvmHost & KubeObject;
export type DesktopObject = VirtualDesktop & KubeObject;
export type MigrationObject = DesktopMigration & KubeObject;
export type TemplateObject = DesktopTemplate & KubeObject;

import { applyStatusPatch, type StatusPatch } from '@deskplane/api';

export { applyStatusPatch, type StatusPatch };

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
