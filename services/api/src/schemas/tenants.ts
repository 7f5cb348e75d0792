import { DesktopPolicySpecSchema } from '@deskplane/api';
import { Type } from '@sinclair/typebox';
import { LabelName, Time } from './common';

/** Sessions, tenants, quotas and policies. */

export const SessionView = Type.Object(
  {
    key: Type.String({ description: 'The gateway session key (gs-…): DELETE /sessions/{key} ends it.' }),
    user: Type.String(),
    tenant: Type.String(),
    desktop: Type.String({ description: 'namespace/name of the desktop.' }),
    source: Type.String({ description: 'Client address.' }),
    transport: Type.String({ description: 'tcp, connect, websocket, tls, …' }),
    openedAt: Time('When the session began.'),
    lastInputAt: Time('Last keyboard or mouse input.'),
    upstream: Type.Optional(Type.String({ description: "host:port of the guest's SPICE server (platform ops only)." })),
    policy: Type.String({ description: 'DesktopPolicy in force ("" = none).' }),
    migrating: Type.Boolean(),
    channels: Type.Array(Type.Object({ name: Type.String(), bytesToClient: Type.Integer({ minimum: 0 }), bytesToGuest: Type.Integer({ minimum: 0 }) })),
  },
  { title: 'Session' },
);

export const SessionList = Type.Object({ items: Type.Array(SessionView) }, { title: 'SessionList' });

export const SessionParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$', description: 'The session key.' }) });

export const MySessionsQuery = Type.Object({
  all: Type.Optional(Type.Boolean({ description: "Tenant admins: every user's sessions of the tenant." })),
  desktop: Type.Optional(Type.String({ maxLength: 254, description: 'Only this desktop (its name, or namespace/name).' })),
});

export const OpsSessionsQuery = Type.Object({
  tenant: Type.Optional(LabelName('Only this tenant.')),
  user: Type.Optional(Type.String({ maxLength: 256 })),
  desktop: Type.Optional(Type.String({ maxLength: 254, description: 'namespace/name.' })),
});

export const KillQuery = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200, description: 'Logged and recorded in the audit log.' })) });

export const QuotaView = Type.Object(
  {
    desktops: Type.Optional(Type.Integer({ minimum: 0 })),
    vcpus: Type.Optional(Type.Integer({ minimum: 0 })),
    memory: Type.Optional(Type.String({ description: 'e.g. 64Gi.' })),
  },
  { description: 'Limits; a missing field is no limit.' },
);

export const TenantView = Type.Object(
  {
    name: Type.String(),
    displayName: Type.Optional(Type.String()),
    quota: QuotaView,
    usage: Type.Object({
      desktops: Type.Integer({ minimum: 0 }),
      vcpus: Type.Integer({ minimum: 0 }),
      memory: Type.String(),
      memoryBytes: Type.Integer({ minimum: 0 }),
    }),
    admins: Type.Optional(Type.Object({ users: Type.Array(Type.String()), groups: Type.Array(Type.String()) })),
  },
  { title: 'Tenant' },
);

export const TenantList = Type.Object({ items: Type.Array(TenantView) }, { title: 'TenantList' });

const limit = (description: string) => Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000 }), Type.Null()], { description }));

export const QuotaChange = Type.Object(
  {
    desktops: limit('Desktops at once; null removes the limit.'),
    vcpus: limit('vCPUs of all desktops together; null removes the limit.'),
    memory: Type.Optional(
      Type.Union([Type.String({ maxLength: 64, description: 'e.g. 64Gi' }), Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Memory of all desktops together; null removes the limit.' }),
    ),
  },
  { additionalProperties: false, title: 'QuotaChange', description: 'A number sets the limit, null removes it, an absent field stays as it is.' },
);

export const TenantParams = Type.Object({ tenant: LabelName('The tenant (its namespace).') });

export const PolicyView = Type.Object(
  {
    name: Type.String(),
    spec: DesktopPolicySpecSchema,
    ready: Type.Optional(Type.Boolean({ description: 'The gateways apply its current generation.' })),
    createdAt: Type.Optional(Time('When it was created.')),
  },
  { title: 'DesktopPolicy' },
);

export const PolicyList = Type.Object({ items: Type.Array(PolicyView) }, { title: 'PolicyList' });
