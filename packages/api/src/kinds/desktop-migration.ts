/**
 * DesktopMigration: one live migration of a desktop to another host. The spec is
 * immutable (it is a request, like a Job); deleting a running migration aborts it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { immutable } from '../schema/cel';
import { Conditions, Name, ObservedGeneration, StringEnum, Time } from '../schema/common';
import { AGE, defineKind } from '../schema/define';

export const MigrationPhases = ['Pending', 'Scheduling', 'PreparingTarget', 'Migrating', 'Succeeded', 'Failed', 'Aborted'] as const;
export type MigrationPhase = (typeof MigrationPhases)[number];
export const MigrationPhase = Object.fromEntries(MigrationPhases.map((p) => [p, p])) as { readonly [P in MigrationPhase]: P };

/** Phases a migration never leaves. */
export const TERMINAL_MIGRATION_PHASES: readonly MigrationPhase[] = ['Succeeded', 'Failed', 'Aborted'];

export const MigrationPolicySchema = Type.Object(
  {
    bandwidthMiBps: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100000, description: 'Cap on migration bandwidth in MiB/s. Unset: no cap.' }),
    ),
    autoConverge: Type.Optional(
      Type.Boolean({ default: false, description: 'Throttle guest vCPUs when memory is dirtied faster than it is copied.' }),
    ),
    postCopy: Type.Optional(
      Type.Boolean({ default: false, description: 'Switch to post-copy if pre-copy does not converge (the guest runs on the target early).' }),
    ),
    completionTimeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 10, maximum: 86400, default: 300, description: 'Abort (guest stays on the source) if not done by then.' }),
    ),
  },
  { additionalProperties: false, description: 'How the migration runs.' },
);

export const DesktopMigrationSpecSchema = Type.Object(
  {
    desktopName: Name('VirtualDesktop (same namespace) to migrate.', { minLength: 1 }),
    targetHost: Type.Optional(Name('KvmHost to migrate to. Unset: the scheduler picks one.')),
    policy: Type.Optional(MigrationPolicySchema),
  },
  {
    additionalProperties: false,
    description: 'The requested migration; immutable once created.',
    'x-kubernetes-validations': [immutable('spec is immutable: delete the migration and create a new one')],
  },
);

export const DesktopMigrationStatusSchema = Type.Object(
  {
    phase: Type.Optional(StringEnum(MigrationPhases, { description: 'Where the migration is.' })),
    sourceHost: Type.Optional(Name('KvmHost the guest was on when the migration started.')),
    targetHost: Type.Optional(Name('KvmHost the guest is moving to.')),
    bytesProcessed: Type.Optional(Type.Integer({ format: 'int64', minimum: 0, description: 'Memory bytes copied so far.' })),
    bytesRemaining: Type.Optional(Type.Integer({ format: 'int64', minimum: 0, description: 'Memory bytes still to copy.' })),
    progressPercent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'bytesProcessed / (processed + remaining), for kubectl.' })),
    downtimeMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Guest pause during switchover, in milliseconds.' })),
    startTime: Type.Optional(Time('When the migration started moving memory.')),
    endTime: Type.Optional(Time('When the migration reached a terminal phase.')),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  },
  { additionalProperties: false, description: 'The observed migration.' },
);

export const DesktopMigrationKind = defineKind({
  info: { kind: 'DesktopMigration', plural: 'desktopmigrations', singular: 'desktopmigration', shortNames: ['dmig'], namespaced: true },
  description: 'DesktopMigration live-migrates a VirtualDesktop to another KvmHost; deleting a running one aborts it.',
  spec: DesktopMigrationSpecSchema,
  status: DesktopMigrationStatusSchema,
  printerColumns: [
    { name: 'Desktop', type: 'string', jsonPath: '.spec.desktopName' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Source', type: 'string', jsonPath: '.status.sourceHost' },
    { name: 'Target', type: 'string', jsonPath: '.status.targetHost' },
    { name: 'Progress', type: 'integer', jsonPath: '.status.progressPercent', description: 'Percent of memory copied.' },
    { name: 'Downtime(ms)', type: 'integer', jsonPath: '.status.downtimeMs', priority: 1 },
    { name: 'Started', type: 'date', jsonPath: '.status.startTime', priority: 1 },
    AGE,
  ],
  source: 'packages/api/src/kinds/desktop-migration.ts',
});

export type DesktopMigrationSpec = Static<typeof DesktopMigrationSpecSchema>;
export type DesktopMigrationStatus = Static<typeof DesktopMigrationStatusSchema>;
export type DesktopMigration = Static<typeof DesktopMigrationKind.schema>;
export type MigrationPolicy = Static<typeof MigrationPolicySchema>;
