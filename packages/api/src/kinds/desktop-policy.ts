/**
 * DesktopPolicy: what a SPICE session may do — bandwidth, channels, clipboard, session
 * limits — and whom it binds. The gateway applies it at link time (denied channels are
 * refused with the protocol's own error) and per byte afterwards (token buckets).
 */
import { Type, type Static } from '@sinclair/typebox';
import { cel } from '../schema/cel';
import { Conditions, NameSet, ObservedGeneration, StringEnum } from '../schema/common';
import { AGE, defineKind } from '../schema/define';

/** SPICE channel types a policy may deny. main, display and cursor make the session and cannot be denied. */
export const DeniableChannels = ['inputs', 'playback', 'record', 'usbredir', 'smartcard', 'webdav', 'port'] as const;
export type DeniableChannel = (typeof DeniableChannels)[number];

/** SPICE channel types a per-channel bandwidth limit can name. */
export const BandwidthChannels = ['main', 'display', 'inputs', 'cursor', 'playback', 'record', 'usbredir', 'smartcard', 'webdav', 'port'] as const;
export type BandwidthChannel = (typeof BandwidthChannels)[number];

/** both, toClient (guest → client only), toGuest (client → guest only), none. */
export const ClipboardDirections = ['both', 'toClient', 'toGuest', 'none'] as const;
export type ClipboardDirection = (typeof ClipboardDirections)[number];

const Kbps = (description: string) => Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description }));

export const SubjectsSchema = Type.Object(
  {
    users: Type.Optional(NameSet('Users the policy binds.')),
    groups: Type.Optional(NameSet('Groups (OIDC groups claim) the policy binds.')),
    allUsersInNamespace: Type.Optional(Type.Boolean({ default: false, description: 'Bind every user of this namespace (tenant).' })),
  },
  {
    additionalProperties: false,
    description: 'Whom the policy binds, within its namespace.',
    'x-kubernetes-validations': [
      cel(
        '(has(self.allUsersInNamespace) && self.allUsersInNamespace) || (has(self.users) && size(self.users) > 0) || (has(self.groups) && size(self.groups) > 0)',
        'subjects must name users or groups, or set allUsersInNamespace',
        (s: { users?: string[]; groups?: string[]; allUsersInNamespace?: boolean }) =>
          s.allUsersInNamespace === true || (s.users?.length ?? 0) > 0 || (s.groups?.length ?? 0) > 0,
      ),
    ],
  },
);

export const PerChannelBandwidthSchema = Type.Object(
  Object.fromEntries(BandwidthChannels.map((c) => [c, Kbps(`Limit for ${c} channels, kbit/s.`)])) as Record<BandwidthChannel, ReturnType<typeof Kbps>>,
  { additionalProperties: false, description: 'Limits per SPICE channel type, kbit/s.' },
);

export const BandwidthSchema = Type.Object(
  {
    totalKbps: Kbps('Limit for the whole session, all channels together, kbit/s.'),
    perUserKbps: Kbps(
      'Limit shared by all console sessions of one user of this namespace at once, all channels together, kbit/s. Applies to the users this policy binds.',
    ),
    tenantKbps: Kbps(
      'Limit shared by all console sessions of this namespace (tenant) together, kbit/s. Applies to every session of the namespace, whichever policy binds it; when several policies of the namespace set it, the lowest wins.',
    ),
    perChannel: Type.Optional(PerChannelBandwidthSchema),
  },
  {
    additionalProperties: false,
    description: 'Bandwidth limits, enforced by the gateway with token buckets, each direction (guest to client, client to guest) separately. Unset: unlimited.',
  },
);

export const DesktopPolicySpecSchema = Type.Object(
  {
    subjects: SubjectsSchema,
    priority: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1000, default: 0, description: 'When several policies bind a user, the highest priority wins.' }),
    ),
    bandwidth: Type.Optional(BandwidthSchema),
    deniedChannels: Type.Optional(
      Type.Array(StringEnum(DeniableChannels), {
        maxItems: DeniableChannels.length,
        'x-kubernetes-list-type': 'set',
        description: 'SPICE channel types refused at link time (inputs makes a view-only session).',
      }),
    ),
    clipboard: Type.Optional(StringEnum(ClipboardDirections, { default: 'both', description: 'Which way clipboard content may flow.' })),
    maxConcurrentSessions: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: 'Console sessions one user may hold at once. Unset: no limit.' }),
    ),
    idleTimeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: 604800, description: 'Close a session with no input for this long. Unset: never.' }),
    ),
    maxSessionSeconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: 2592000, description: 'Close any session after this long. Unset: never.' }),
    ),
    desktopIdleSeconds: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 2592000,
        description:
          'Stop a desktop whose console has had no session for this long (a non-persistent pool desktop is reset and returned to its pool instead). Applies to the desktops of the users it binds. Unset: never.',
      }),
    ),
  },
  { additionalProperties: false, description: 'The policy.' },
);

export const DesktopPolicyStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  },
  { additionalProperties: false, description: 'Ready is True once the gateways apply this generation.' },
);

export const DesktopPolicyKind = defineKind({
  info: { kind: 'DesktopPolicy', plural: 'desktoppolicies', singular: 'desktoppolicy', shortNames: ['dpol'], namespaced: true },
  description: 'DesktopPolicy limits SPICE sessions of the users it binds: bandwidth, denied channels, clipboard, session count and time; and stops their desktops when idle.',
  spec: DesktopPolicySpecSchema,
  status: DesktopPolicyStatusSchema,
  printerColumns: [
    { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
    { name: 'Total kbps', type: 'integer', jsonPath: '.spec.bandwidth.totalKbps' },
    { name: 'Clipboard', type: 'string', jsonPath: '.spec.clipboard' },
    { name: 'Denied', type: 'string', jsonPath: '.spec.deniedChannels', priority: 1 },
    { name: 'Desktop Idle', type: 'integer', jsonPath: '.spec.desktopIdleSeconds', priority: 1 },
    AGE,
  ],
  source: 'packages/api/src/kinds/desktop-policy.ts',
});

export type DesktopPolicySpec = Static<typeof DesktopPolicySpecSchema>;
export type DesktopPolicyStatus = Static<typeof DesktopPolicyStatusSchema>;
export type DesktopPolicy = Static<typeof DesktopPolicyKind.schema>;
export type PolicySubjects = Static<typeof SubjectsSchema>;
export type Bandwidth = Static<typeof BandwidthSchema>;
