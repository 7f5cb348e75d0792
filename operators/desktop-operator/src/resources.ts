/** The resource types the operator reads and writes, derived from the API package's kind definitions. */
import {
  DesktopMigrationKind,
  DesktopPolicyKind,
  DesktopPoolKind,
  DesktopTemplateKind,
  KvmHostKind,
  VirtualDesktopKind,
  type DesktopMigration,
  type DesktopPolicy,
  type DesktopPool,
  type DesktopTemplate,
  type KvmHost,
  type VirtualDesktop,
} from '@deskplane/api';
import type { KubeObject, ResourceType } from '@deskplane/resource-store';

// A kind's info carries group, version, kind, plural and scope: it is a ResourceType.
export const RESOURCE_TYPES = {
  KvmHost: KvmHostKind.info,
  VirtualDesktop: VirtualDesktopKind.info,
  DesktopTemplate: DesktopTemplateKind.info,
  DesktopMigration: DesktopMigrationKind.info,
  DesktopPolicy: DesktopPolicyKind.info,
  DesktopPool: DesktopPoolKind.info,
} as const satisfies Record<string, ResourceType>;

// The API types describe metadata with TypeBox; the store's KubeObject is the wire shape.
// Both are the same JSON, so the operator works with the API types as store objects.
export type HostObject = KvmHost & KubeObject;
export type DesktopObject = VirtualDesktop & KubeObject;
export type TemplateObject = DesktopTemplate & KubeObject;
export type MigrationObject = DesktopMigration & KubeObject;
export type PolicyObject = DesktopPolicy & KubeObject;
export type PoolObject = DesktopPool & KubeObject;

/** `namespace/name`, or `name` for cluster-scoped objects: the work-queue key. */
export function keyOf(o: Pick<KubeObject, 'metadata'>): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

/** Splits a work-queue key back into namespace and name. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
