/** Every Deskplane kind, in the order a new cluster needs them. */
import { DesktopMigrationKind } from './desktop-migration';
import { DesktopPolicyKind } from './desktop-policy';
import { DesktopPoolKind } from './desktop-pool';
import { DesktopTemplateKind } from './desktop-template';
import { KvmHostKind } from './kvm-host';
import { TenantKind } from './tenant';
import { VirtualDesktopKind } from './virtual-desktop';

export * from './desktop-migration';
export * from './desktop-policy';
export * from './desktop-pool';
export * from './desktop-template';
export * from './kvm-host';
export * from './tenant';
export * from './virtual-desktop';

export const KINDS = [KvmHostKind, DesktopPolicyKind, DesktopTemplateKind, VirtualDesktopKind, DesktopPoolKind, DesktopMigrationKind, TenantKind] as const;

export type AnyKindDefinition = (typeof KINDS)[number];
export type KindName = AnyKindDefinition['info']['kind'];

/** The kind definition by kind name, e.g. `kindByName('VirtualDesktop')`. */
export function kindByName(kind: string): AnyKindDefinition | undefined {
  return KINDS.find((k) => k.info.kind === kind);
}
