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
    resetting: Count('Floating desktops being reset to the template after use.'),
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
