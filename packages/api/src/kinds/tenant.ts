/**
 * Tenant (cluster-scoped): what the platform knows about one tenant beyond its namespace —
 * its display name, its quota and who administers it. The object's name IS the tenant's
 * namespace, so it must be a DNS-1123 label; a namespace without a Tenant object has no
 * quota and no named admins.
 */
import { Type, type Static } from '@sinclair/typebox';
import { cel } from '../schema/cel';
import { Conditions, NameSet, ObservedGeneration, Quantity } from '../schema/common';
import { AGE, defineKind } from '../schema/define';

/** A namespace name: what the Tenant's name must be, since it names one. */
export const NAMESPACE_NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const TenantQuotaSchema = Type.Object(
  {
    desktops: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000, description: 'Desktops the tenant may have at once. Unset: no limit.' })),
    vcpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, description: "vCPUs of all the tenant's desktops together (from their templates). Unset: no limit." })),
    memory: Type.Optional(Quantity("Guest memory of all the tenant's desktops together, e.g. 64Gi. Unset: no limit.")),
  },
  { additionalProperties: false, description: 'Limits checked when a desktop is created; existing desktops are never removed to meet them.' },
);

export const TenantAdminsSchema = Type.Object(
  {
    users: Type.Optional(NameSet('Users who administer the tenant.')),
    groups: Type.Optional(NameSet('Groups (OIDC groups claim) whose members administer the tenant.')),
  },
  { additionalProperties: false, description: "Who may see and act on all of the tenant's desktops and sessions." },
);

export const TenantSpecSchema = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Human-readable name shown in the portal.' })),
    quota: Type.Optional(TenantQuotaSchema),
    admins: Type.Optional(TenantAdminsSchema),
  },
  { additionalProperties: false, description: 'The desired tenant.' },
);

export const TenantStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  },
  { additionalProperties: false, description: 'The observed tenant.' },
);

const LABEL_NAME = new RegExp(NAMESPACE_NAME);

export const TenantKind = defineKind({
  info: { kind: 'Tenant', plural: 'tenants', singular: 'tenant', shortNames: ['tnt'], namespaced: false },
  description: "Tenant holds one tenant's display name, quota (desktops, vCPUs, memory) and admins; its name is the tenant's namespace.",
  spec: TenantSpecSchema,
  status: TenantStatusSchema,
  rootValidations: [
    cel(
      "self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
      'name must be a namespace name (a DNS-1123 label: at most 63 lower-case letters, digits and dashes)',
      (o: { metadata: { name?: string } }) => (o.metadata.name ?? '').length <= 63 && LABEL_NAME.test(o.metadata.name ?? ''),
    ),
  ],
  printerColumns: [
    { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName' },
    { name: 'Desktops', type: 'integer', jsonPath: '.spec.quota.desktops', description: 'Desktop quota.' },
    { name: 'vCPUs', type: 'integer', jsonPath: '.spec.quota.vcpus', description: 'vCPU quota.' },
    { name: 'Memory', type: 'string', jsonPath: '.spec.quota.memory', description: 'Memory quota.' },
    AGE,
  ],
  source: 'packages/api/src/kinds/tenant.ts',
});

export type TenantSpec = Static<typeof TenantSpecSchema>;
export type TenantStatus = Static<typeof TenantStatusSchema>;
export type Tenant = Static<typeof TenantKind.schema>;
export type TenantQuota = Static<typeof TenantQuotaSchema>;
export type TenantAdmins = Static<typeof TenantAdminsSchema>;
