/**
 * VirtualDesktop: one user's desktop, a KVM guest placed on some KvmHost.
 * Status answers "what state, where, since when" — and never carries a SPICE password.
 */
import { Type, type Static } from '@sinclair/typebox';
import { cel, immutable } from '../schema/cel';
import { Conditions, LocalRef, Name, ObservedGeneration, StringMap, StringEnum, Time } from '../schema/common';
import { AGE, defineKind } from '../schema/define';

/** Always: keep it running. Halted: keep it stopped. Manual: users start and stop it. */
export const RunStrategies = ['Always', 'Halted', 'Manual'] as const;
export type RunStrategy = (typeof RunStrategies)[number];

/** none: anywhere. owner: away from the same user's other desktops. pool: away from the pool's other desktops. */
export const AntiAffinities = ['none', 'owner', 'pool'] as const;
export type AntiAffinity = (typeof AntiAffinities)[number];

export const DesktopPhases = [
  'Pending',
  'Scheduling',
  'Provisioning',
  'Starting',
  'Running',
  'Stopping',
  'Stopped',
  'Migrating',
  'Failed',
  'Deleting',
] as const;
export type DesktopPhase = (typeof DesktopPhases)[number];
/** `DesktopPhase.Running === 'Running'`, for code that reads better with a namespace. */
export const DesktopPhase = Object.fromEntries(DesktopPhases.map((p) => [p, p])) as { readonly [P in DesktopPhase]: P };

export const PlacementSchema = Type.Object(
  {
    hostSelector: Type.Optional(StringMap('Only KvmHosts whose labels include all of these are considered.', { maxProperties: 32 })),
    antiAffinity: Type.Optional(
      StringEnum(AntiAffinities, { default: 'none', description: 'Spread this desktop away from related desktops.' }),
    ),
  },
  { additionalProperties: false, description: 'Hints for the scheduler.' },
);

export const VirtualDesktopSpecSchema = Type.Object(
  {
    templateRef: LocalRef('DesktopTemplate (same namespace) the desktop is made from.', {
      'x-kubernetes-validations': [immutable('templateRef is immutable: create a new desktop to change the template')],
    }),
    owner: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'User the desktop belongs to (the OIDC subject or username). Unset for an unclaimed pool desktop.',
      }),
    ),
    runStrategy: Type.Optional(StringEnum(RunStrategies, { default: 'Always', description: 'Whether the guest should be running.' })),
    persistent: Type.Optional(
      Type.Boolean({ default: true, description: 'Keep the disk across restarts; false resets it to the template on every stop.' }),
    ),
    placement: Type.Optional(PlacementSchema),
    poolRef: Type.Optional(
      LocalRef('DesktopPool (same namespace) that made this desktop, if any.', {
        'x-kubernetes-validations': [immutable('poolRef is immutable')],
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'The desired desktop.',
    'x-kubernetes-validations': [
      cel(
        'has(self.owner) || has(self.poolRef)',
        'owner is required unless the desktop belongs to a pool (poolRef)',
        (s: { owner?: string; poolRef?: unknown }) => s.owner !== undefined || s.poolRef !== undefined,
        { fieldPath: '.owner', reason: 'FieldValueRequired' },
      ),
      cel(
        "!has(self.placement) || !has(self.placement.antiAffinity) || self.placement.antiAffinity != 'pool' || has(self.poolRef)",
        'antiAffinity "pool" needs poolRef',
        (s: { placement?: { antiAffinity?: string }; poolRef?: unknown }) => s.placement?.antiAffinity !== 'pool' || s.poolRef !== undefined,
        { fieldPath: '.placement.antiAffinity' },
      ),
    ],
  },
);

export const ConsoleStatusSchema = Type.Object(
  {
    ready: Type.Boolean({ description: 'The guest SPICE server accepts connections (through the gateway).' }),
    address: Type.Optional(Type.String({ maxLength: 253, description: "Address of the guest's SPICE server, for the gateway." })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "Port of the guest's SPICE server." })),
  },
  { additionalProperties: false, description: 'Console readiness. Credentials are never stored here: the gateway gets them from the control plane.' },
);

export const SchedulingDecisionSchema = Type.Object(
  {
    host: Name('KvmHost that was chosen.'),
    score: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Score of the chosen host (0-100).' })),
    reason: Type.Optional(Type.String({ maxLength: 1024, description: 'Why this host: strategy, feasible and filtered-out host counts.' })),
    time: Time('When the decision was made.'),
  },
  { additionalProperties: false, description: 'The last scheduling decision.' },
);

export const DesktopTimingsSchema = Type.Object(
  {
    scheduledAt: Type.Optional(Time('When a host was chosen.')),
    provisionedAt: Type.Optional(Time('When the disk and domain were ready on the host.')),
    runningAt: Type.Optional(Time('When the guest last entered Running.')),
    stoppedAt: Type.Optional(Time('When the guest last entered Stopped.')),
  },
  { additionalProperties: false, description: 'When the desktop passed each milestone.' },
);

export const VirtualDesktopStatusSchema = Type.Object(
  {
    phase: Type.Optional(StringEnum(DesktopPhases, { description: 'Where the desktop is in its lifecycle.' })),
    host: Type.Optional(Name('KvmHost the guest is on.')),
    console: Type.Optional(ConsoleStatusSchema),
    scheduling: Type.Optional(SchedulingDecisionSchema),
    timings: Type.Optional(DesktopTimingsSchema),
    migrationRef: Type.Optional(LocalRef('DesktopMigration currently moving this desktop.')),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  },
  { additionalProperties: false, description: 'The observed desktop.' },
);

export const VirtualDesktopKind = defineKind({
  info: { kind: 'VirtualDesktop', plural: 'virtualdesktops', singular: 'virtualdesktop', shortNames: ['vd', 'vdesk'], namespaced: true },
  description: "VirtualDesktop is one user's desktop: a KVM guest made from a DesktopTemplate, placed on a KvmHost, reached over SPICE.",
  spec: VirtualDesktopSpecSchema,
  status: VirtualDesktopStatusSchema,
  rootValidations: [
    cel(
      'self.metadata.name.size() <= 63',
      'name must be at most 63 characters (it names the guest domain and appears in labels)',
      (o: { metadata: { name?: string } }) => (o.metadata.name ?? '').length <= 63,
    ),
  ],
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Host', type: 'string', jsonPath: '.status.host' },
    { name: 'Owner', type: 'string', jsonPath: '.spec.owner' },
    { name: 'Template', type: 'string', jsonPath: '.spec.templateRef.name', priority: 1 },
    { name: 'Pool', type: 'string', jsonPath: '.spec.poolRef.name', priority: 1 },
    { name: 'Running Since', type: 'date', jsonPath: '.status.timings.runningAt', priority: 1 },
    AGE,
  ],
  source: 'packages/api/src/kinds/virtual-desktop.ts',
});

export type VirtualDesktopSpec = Static<typeof VirtualDesktopSpecSchema>;
export type VirtualDesktopStatus = Static<typeof VirtualDesktopStatusSchema>;
export type VirtualDesktop = Static<typeof VirtualDesktopKind.schema>;
export type Placement = Static<typeof PlacementSchema>;
export type ConsoleStatus = Static<typeof ConsoleStatusSchema>;
export type SchedulingDecision = Static<typeof SchedulingDecisionSchema>;
export type DesktopTimings = Static<typeof DesktopTimingsSchema>;
