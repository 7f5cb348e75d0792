/**
 * The resource types the API reads and writes, from the API package's kind definitions,
 * and the schema hooks an EmbeddedStore needs to default and validate them as the CRDs do.
 */
import {
  DesktopMigrationKind,
  DesktopPoolKind,
  DesktopTemplateKind,
  KINDS,
  KvmHostKind,
  TenantKind,
  VirtualDesktopKind,
  applyDefaults,
  issuesFor,
  type DesktopMigration,
  type DesktopPool,
  type DesktopTemplate,
  type KvmHost,
  type Tenant,
  type VirtualDesktop,
} from '@deskplane/api';
import { typeKey, type KubeObject, type ResourceStore, type ResourceType, type TypeSchema } from '@deskplane/resource-store';

export const API_RESOURCE_TYPES = {
  KvmHost: KvmHostKind.info,
  VirtualDesktop: VirtualDesktopKind.info,
  DesktopTemplate: DesktopTemplateKind.info,
  DesktopMigration: DesktopMigrationKind.info,
  Tenant: TenantKind.info,
  DesktopPool: DesktopPoolKind.info,
} as const satisfies Record<string, ResourceType>;

export type HostObject = KvmHost & KubeObject;
export type DesktopObject = VirtualDesktop & KubeObject;
export type TemplateObject = DesktopTemplate & KubeObject;
export type MigrationObject = DesktopMigration & KubeObject;
export type TenantObject = Tenant & KubeObject;
export type PoolObject = DesktopPool & KubeObject;

/** What the domain classes need from a store: typed clients, nothing else. */
export type StoreClients = Pick<ResourceStore, 'client'>;

export function clients(store: StoreClients) {
  return {
    hosts: store.client<HostObject>(API_RESOURCE_TYPES.KvmHost),
    desktops: store.client<DesktopObject>(API_RESOURCE_TYPES.VirtualDesktop),
    templates: store.client<TemplateObject>(API_RESOURCE_TYPES.DesktopTemplate),
    migrations: store.client<MigrationObject>(API_RESOURCE_TYPES.DesktopMigration),
    tenants: store.client<TenantObject>(API_RESOURCE_TYPES.Tenant),
    pools: store.client<PoolObject>(API_RESOURCE_TYPES.DesktopPool),
  };
}

/**
 * Defaulting and validation for every Deskplane kind (Tenant included), for an
 * EmbeddedStore opened by the API or its tests: `new EmbeddedStore({ schemas: apiSchemas() })`.
 */
export function apiSchemas(): Map<string, TypeSchema> {
  const schemas = new Map<string, TypeSchema>();
  for (const def of KINDS) {
    schemas.set(typeKey(def.info), {
      applyDefaults: (o: KubeObject) => applyDefaults(o),
      validate: (o: KubeObject) => issuesFor(def, o).map((i) => `${i.path}: ${i.message}`),
    });
  }
  return schemas;
}
