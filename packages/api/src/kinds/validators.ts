/** `validate<Kind>(obj, old?)`: one typed validator per kind (see ../validate.ts). */
import { validateAs, type ValidationResult } from '../validate';
import { DesktopMigrationKind, type DesktopMigration } from './desktop-migration';
import { DesktopPolicyKind, type DesktopPolicy } from './desktop-policy';
import { DesktopPoolKind, type DesktopPool } from './desktop-pool';
import { DesktopTemplateKind, type DesktopTemplate } from './desktop-template';
import { KvmHostKind, type KvmHost } from './kvm-host';
import { TenantKind, type Tenant } from './tenant';
import { VirtualDesktopKind, type VirtualDesktop } from './virtual-desktop';

export const validateDesktopTemplate = (obj: unknown, old?: unknown): ValidationResult<DesktopTemplate> =>
  validateAs(DesktopTemplateKind, obj, old);
export const validateVirtualDesktop = (obj: unknown, old?: unknown): ValidationResult<VirtualDesktop> =>
  validateAs(VirtualDesktopKind, obj, old);
export const validateDesktopPool = (obj: unknown, old?: unknown): ValidationResult<DesktopPool> => validateAs(DesktopPoolKind, obj, old);
export const validateKvmHost = (obj: unknown, old?: unknown): ValidationResult<KvmHost> => validateAs(KvmHostKind, obj, old);
export const validateDesktopMigration = (obj: unknown, old?: unknown): ValidationResult<DesktopMigration> =>
  validateAs(DesktopMigrationKind, obj, old);
export const validateDesktopPolicy = (obj: unknown, old?: unknown): ValidationResult<DesktopPolicy> =>
  validateAs(DesktopPolicyKind, obj, old);
export const validateTenant = (obj: unknown, old?: unknown): ValidationResult<Tenant> => validateAs(TenantKind, obj, old);
