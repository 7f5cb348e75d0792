import { DNS_SUBDOMAIN } from '@deskplane/api';
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';

/** Names and shared pieces of the route schemas. */

const LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** One of a fixed list of strings (an enum in the document). */
export function OneOf<const T extends string>(values: readonly T[], description?: string): TUnion<TLiteral<T>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    description === undefined ? {} : { description },
  );
}

/** A desktop or tenant name: a DNS-1123 label, as the namespace and the guest's name need. */
export const LabelName = (description: string) => Type.String({ minLength: 1, maxLength: 63, pattern: LABEL, description });

/** A template, host or migration name: a DNS-1123 subdomain. */
export const ObjectName = (description: string) => Type.String({ minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN, description });

export const Time = (description: string) => Type.String({ format: 'date-time', description });

export const DesktopParams = Type.Object({ name: LabelName('The desktop.') });

/** `tenant=`: platform ops name the tenant they act in; anyone else may only name their own (another is 404). */
export const TenantQuery = Type.Object({ tenant: Type.Optional(LabelName('Platform ops: the tenant (namespace) to act in. Others: their own tenant only.')) });

export const AllQuery = Type.Object({
  all: Type.Optional(Type.Boolean({ description: "Tenant admins: the whole tenant's, not only mine. Platform ops: every tenant's (or `tenant`'s)." })),
  tenant: Type.Optional(LabelName('Platform ops: one tenant only. Others: their own tenant only.')),
});
