import { HostResourcesSchema, HypervisorInfoSchema, MigrationPhases, MigrationPolicySchema } from '@deskplane/api';
import { Type } from '@sinclair/typebox';
import { JOB_STATES } from '../domain/queue-stats';
import { LabelName, ObjectName, OneOf, Time } from './common';

/** Platform operations: hosts, migrations, queues, audit. */

export const HostView = Type.Object(
  {
    name: Type.String(),
    labels: Type.Record(Type.String(), Type.String()),
    agentEndpoint: Type.String(),
    ready: Type.Boolean({ description: 'The host agent heartbeats.' }),
    readyReason: Type.Optional(Type.String()),
    readyMessage: Type.Optional(Type.String()),
    schedulable: Type.Boolean(),
    maintenance: Type.Boolean({ description: 'Draining: its desktops are live-migrated away.' }),
    drained: Type.Boolean({ description: 'Maintenance on and no desktop left.' }),
    drainMessage: Type.Optional(Type.String()),
    capacity: Type.Optional(HostResourcesSchema),
    allocatable: Type.Optional(HostResourcesSchema),
    allocated: Type.Optional(HostResourcesSchema),
    guestCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Guests the agent reports.' })),
    desktops: Type.Integer({ minimum: 0, description: 'Desktops the control plane placed here.' }),
    heartbeatTime: Type.Optional(Type.String()),
    hypervisor: Type.Optional(HypervisorInfoSchema),
  },
  { title: 'Host' },
);

export const HostList = Type.Object({ items: Type.Array(HostView) }, { title: 'HostList' });

export const HostParams = Type.Object({ name: ObjectName('The KvmHost.') });

export const MigrationView = Type.Object(
  {
    name: Type.String(),
    tenant: Type.String(),
    desktop: Type.String(),
    phase: OneOf(MigrationPhases),
    sourceHost: Type.Optional(Type.String()),
    targetHost: Type.Optional(Type.String()),
    progressPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    bytesProcessed: Type.Optional(Type.Integer({ minimum: 0 })),
    bytesRemaining: Type.Optional(Type.Integer({ minimum: 0 })),
    downtimeMs: Type.Optional(Type.Integer({ minimum: 0 })),
    startTime: Type.Optional(Type.String()),
    endTime: Type.Optional(Type.String()),
    message: Type.Optional(Type.String({ description: 'Why it failed or waits.' })),
    aborting: Type.Boolean({ description: 'Deletion was requested while it migrated: the orchestrator is aborting it.' }),
    createdAt: Type.Optional(Type.String()),
  },
  { title: 'Migration' },
);

export const MigrationList = Type.Object({ items: Type.Array(MigrationView) }, { title: 'MigrationList' });

export const MigrationsQuery = Type.Object({
  tenant: Type.Optional(LabelName('Only this tenant.')),
  desktop: Type.Optional(LabelName('Only this desktop (with tenant).')),
});

export const StartMigrationRequest = Type.Object(
  {
    tenant: LabelName("The desktop's tenant (namespace)."),
    desktop: LabelName('The desktop to move.'),
    targetHost: Type.Optional(ObjectName('Where to; unset: the scheduler picks.')),
    policy: Type.Optional(MigrationPolicySchema),
  },
  { additionalProperties: false, title: 'StartMigration' },
);

export const MigrationParams = Type.Object({ tenant: LabelName('The tenant (namespace).'), name: ObjectName('The DesktopMigration.') });

export const QueueCounts = Type.Object(
  {
    queue: Type.String(),
    paused: Type.Boolean(),
    counts: Type.Object(Object.fromEntries(JOB_STATES.map((s) => [s, Type.Integer({ minimum: 0 })])) as Record<(typeof JOB_STATES)[number], ReturnType<typeof Type.Integer>>),
  },
  { title: 'QueueCounts' },
);

export const QueueList = Type.Object({ items: Type.Array(QueueCounts) }, { title: 'QueueList' });

export const AuditQuery = Type.Object({
  tenant: Type.Optional(LabelName('Only this tenant.')),
  user: Type.Optional(Type.String({ maxLength: 256 })),
  desktop: Type.Optional(Type.String({ maxLength: 254, description: 'namespace/name.' })),
  since: Type.Optional(Time('Only entries at or after this time.')),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

export const AuditEntry = Type.Object(
  {
    id: Type.String(),
    time: Type.String(),
    action: Type.String({ description: 'desktop.create, console.open, session.kill, session.end, …' }),
    tenant: Type.Optional(Type.String()),
    user: Type.Optional(Type.String()),
    desktop: Type.Optional(Type.String({ description: 'namespace/name.' })),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'AuditEntry' },
);

export const AuditList = Type.Object({ items: Type.Array(AuditEntry) }, { title: 'AuditList' });
