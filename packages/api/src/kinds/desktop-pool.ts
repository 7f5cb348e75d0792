/**
 * DesktopPool: a set of desktops made from one template, some kept started ("warm") so
 * that a user who claims one gets it at once.
 */
import { Type, type Static } from '@sinclair/typebox';
import { cel } from '../schema/cel';
import { Conditions, LocalRef, NameSet, ObservedGeneration, StringEnum } from '../schema/common';
import { AGE, defineKind } from '../schema/define';

/**
 * Dedicated: a claimed desktop stays the claimant's (persistent disk).
 * Floating: a desktop goes back to the pool at sign-out and is reset to the template.
 */
export const PoolAssignments = ['Dedicated', 'Floating'] as const;
export type PoolAssignment = (typeof PoolAssignments)[number];

export const ClaimantsSchema = Type.Object(
  {
    users: Type.Optional(NameSet('Users who may claim a desktop.')),
    groups: Type.Optional(NameSet('Groups (from the OIDC groups claim) whose members may claim a desktop.')),
  },
  { additionalProperties: false, description: 'Who may claim a desktop. Unset: every user of the namespace (tenant).' },
);

/** Days of the week as warmSchedule entries name them. */
export const Weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof Weekdays)[number];

/** 00:00 to 23:59; `to` may also be 24:00 (the end of the day). */
const HHMM = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
const HHMM_OR_END = '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';

export const WarmScheduleEntrySchema = Type.Object(
  {
    days: Type.Array(StringEnum(Weekdays), {
      minItems: 1,
      maxItems: 7,
      'x-kubernetes-list-type': 'set',
      description: 'Days on which the window starts (an overnight window runs on into the next day).',
    }),
    from: Type.String({ pattern: HHMM, maxLength: 5, description: 'Local start time, HH:MM (24-hour).' }),
    to: Type.String({
      pattern: HHMM_OR_END,
      maxLength: 5,
      description: 'Local end time, HH:MM, exclusive; 24:00 is midnight. Earlier than from: the window ends the next day (22:00 to 06:00).',
    }),
    warm: Type.Integer({ minimum: 0, maximum: 1000, description: 'Warm desktops during the window (capped at size).' }),
  },
  {
    additionalProperties: false,
    description: 'A weekly window with its own warm count.',
    'x-kubernetes-validations': [
      cel('self.from != self.to', 'from and to must differ', (e: { from: string; to: string }) => e.from !== e.to, { fieldPath: '.to' }),
    ],
  },
);

export const DesktopPoolSpecSchema = Type.Object(
  {
    templateRef: LocalRef('DesktopTemplate (same namespace) every desktop of the pool is made from.'),
    size: Type.Integer({ minimum: 0, maximum: 1000, description: 'Number of desktops in the pool, claimed or not.' }),
    warm: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1000, default: 0, description: 'Unclaimed desktops kept running, ready for the next user.' }),
    ),
    assignment: Type.Optional(
      StringEnum(PoolAssignments, { default: 'Dedicated', description: 'What happens to a desktop once a user has claimed it.' }),
    ),
    claimants: Type.Optional(ClaimantsSchema),
    warmSchedule: Type.Optional(
      Type.Array(WarmScheduleEntrySchema, {
        maxItems: 32,
        description: 'Windows that change warm, e.g. more before working hours. Several matching: the highest warm wins; none: spec.warm.',
      }),
    ),
    timeZone: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$',
        default: 'UTC',
        description: 'IANA time zone the warmSchedule times are in, e.g. Europe/Berlin (daylight saving included).',
      }),
    ),
    releaseAfterSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86400,
        default: 60,
        description: 'Floating pools: seconds after the last console session ends before the desktop is reset and returned to the pool.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'The desired pool.',
    'x-kubernetes-validations': [
      cel(
        '!has(self.warm) || self.warm <= self.size',
        'warm must not exceed size',
        (s: { warm?: number; size: number }) => s.warm === undefined || s.warm <= s.size,
        { fieldPath: '.warm' },
      ),
    ],
  },
);

const Count = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

export const DesktopPoolStatusSchema = Type.Object(
  {
    desktops: Count('Desktops that exist in the pool (the /scale subresource reads this).'),
    ready: Count('Unclaimed desktops that are running and can be handed out now.'),
    claimed: Count('Desktops claimed by a user.'),
    starting: Count('Desktops being provisioned or started.'),
    resetting: Count('Desktops being deleted to be replaced by fresh ones (reset after use, scale-in).'),
    warm: Count('Warm count in effect now: spec.warm, or the matching warmSchedule entry; never above size.'),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  },
  { additionalProperties: false, description: 'Counts of the pool desktops by state.' },
);

export const DesktopPoolKind = defineKind({
  info: { kind: 'DesktopPool', plural: 'desktoppools', singular: 'desktoppool', shortNames: ['dpool'], namespaced: true },
  description: 'DesktopPool keeps a number of desktops from one template, some of them warm, for users to claim.',
  spec: DesktopPoolSpecSchema,
  status: DesktopPoolStatusSchema,
  rootValidations: [
    cel(
      'size(self.metadata.name) <= 63',
      'name must be at most 63 characters (its desktops carry it in the deskplane.io/pool label)',
      (o: { metadata: { name?: string } }) => (o.metadata.name ?? '').length <= 63,
    ),
  ],
  printerColumns: [
    { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
    { name: 'Warm', type: 'integer', jsonPath: '.spec.warm' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.ready' },
    { name: 'Claimed', type: 'integer', jsonPath: '.status.claimed' },
    { name: 'Assignment', type: 'string', jsonPath: '.spec.assignment', priority: 1 },
    { name: 'Template', type: 'string', jsonPath: '.spec.templateRef.name', priority: 1 },
    AGE,
  ],
  scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.desktops' },
  source: 'packages/api/src/kinds/desktop-pool.ts',
});

export type DesktopPoolSpec = Static<typeof DesktopPoolSpecSchema>;
export type DesktopPoolStatus = Static<typeof DesktopPoolStatusSchema>;
export type DesktopPool = Static<typeof DesktopPoolKind.schema>;
export type Claimants = Static<typeof ClaimantsSchema>;
export type WarmScheduleEntry = Static<typeof WarmScheduleEntrySchema>;
