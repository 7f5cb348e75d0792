/**
 * KvmHost (cluster-scoped): a hypervisor machine running the Deskplane host agent.
 * Its labels (metadata.labels) are what `placement.hostSelector` matches.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, ObservedGeneration, Quantity, StringEnum, Time } from '../schema/common';
import { AGE, defineKind } from '../schema/define';

/** kvm: hardware virtualization. qemu: TCG emulation (no /dev/kvm; slow, for tests). */
export const HypervisorTypes = ['kvm', 'qemu'] as const;
export type HypervisorType = (typeof HypervisorTypes)[number];

/** `host:port`, `1.2.3.4:port` or `[::1]:port` of the host agent's gRPC server. */
export const ENDPOINT_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):[0-9]{1,5}$';

export const OvercommitSchema = Type.Object(
  {
    cpuPercent: Type.Optional(
      Type.Integer({ minimum: 100, maximum: 3200, default: 400, description: 'vCPUs offered as a percentage of physical CPUs (400 = 4 vCPUs per CPU).' }),
    ),
    memoryPercent: Type.Optional(
      Type.Integer({ minimum: 100, maximum: 400, default: 100, description: 'Guest memory offered as a percentage of allocatable memory (100 = no overcommit).' }),
    ),
  },
  { additionalProperties: false, description: 'How far the scheduler may overcommit this host.' },
);

export const ReservedSchema = Type.Object(
  {
    vcpus: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'CPUs kept for the host itself.' })),
    memory: Type.Optional(Quantity('Memory kept for the host itself.', { default: '1Gi' })),
  },
  { additionalProperties: false, description: 'Resources held back from guests: allocatable = capacity - reserved.' },
);

export const KvmHostSpecSchema = Type.Object(
  {
    agentEndpoint: Type.String({ pattern: ENDPOINT_PATTERN, maxLength: 263, description: "The host agent's gRPC endpoint, host:port." }),
    schedulable: Type.Optional(Type.Boolean({ default: true, description: 'New desktops may be placed here.' })),
    maintenance: Type.Optional(
      Type.Boolean({ default: false, description: 'Drain the host: live-migrate its desktops away; Drained becomes True when it is empty.' }),
    ),
    overcommit: Type.Optional(OvercommitSchema),
    reserved: Type.Optional(ReservedSchema),
  },
  { additionalProperties: false, description: 'The desired host.' },
);

function hostResources(description: string) {
  return Type.Object(
    {
      vcpus: Type.Integer({ minimum: 0, description: 'CPUs (capacity) or vCPUs (allocatable, allocated).' }),
      memory: Quantity('Memory.'),
      disk: Type.Optional(Quantity('Disk space for guest images.')),
    },
    { additionalProperties: false, description },
  );
}
export const HostResourcesSchema = hostResources('Resources of a host.');

export const HypervisorInfoSchema = Type.Object(
  {
    type: StringEnum(HypervisorTypes, { description: 'kvm, or qemu when the host has no hardware virtualization.' }),
    libvirtVersion: Type.Optional(Type.String({ maxLength: 64 })),
    qemuVersion: Type.Optional(Type.String({ maxLength: 64 })),
    agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false, description: 'What the host runs guests with.' },
);

export const KvmHostStatusSchema = Type.Object(
  {
    capacity: Type.Optional(hostResources('What the machine has.')),
    allocatable: Type.Optional(hostResources('What guests may use: (capacity - reserved) x overcommit.')),
    allocated: Type.Optional(hostResources('What the desktops placed here ask for.')),
    guestCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Guests defined on the host.' })),
    heartbeatTime: Type.Optional(Time('Last heartbeat from the host agent.')),
    hypervisor: Type.Optional(HypervisorInfoSchema),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  },
  { additionalProperties: false, description: 'The observed host: Ready (agent heartbeating) and Drained conditions.' },
);

export const KvmHostKind = defineKind({
  info: { kind: 'KvmHost', plural: 'kvmhosts', singular: 'kvmhost', shortNames: ['kh'], namespaced: false },
  description: 'KvmHost is a hypervisor machine running the Deskplane host agent (cluster-scoped; its labels are matched by placement).',
  spec: KvmHostSpecSchema,
  status: KvmHostStatusSchema,
  printerColumns: [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Schedulable', type: 'boolean', jsonPath: '.spec.schedulable' },
    { name: 'Maintenance', type: 'boolean', jsonPath: '.spec.maintenance', priority: 1 },
    { name: 'Guests', type: 'integer', jsonPath: '.status.guestCount' },
    { name: 'vCPUs Used', type: 'integer', jsonPath: '.status.allocated.vcpus' },
    { name: 'vCPUs', type: 'integer', jsonPath: '.status.allocatable.vcpus' },
    { name: 'Memory Used', type: 'string', jsonPath: '.status.allocated.memory' },
    { name: 'Memory', type: 'string', jsonPath: '.status.allocatable.memory' },
    { name: 'Heartbeat', type: 'date', jsonPath: '.status.heartbeatTime' },
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.agentEndpoint', priority: 1 },
    { name: 'Hypervisor', type: 'string', jsonPath: '.status.hypervisor.type', priority: 1 },
    AGE,
  ],
  source: 'packages/api/src/kinds/kvm-host.ts',
});

export type KvmHostSpec = Static<typeof KvmHostSpecSchema>;
export type KvmHostStatus = Static<typeof KvmHostStatusSchema>;
export type KvmHost = Static<typeof KvmHostKind.schema>;
export type HostResources = Static<typeof HostResourcesSchema>;
export type Overcommit = Static<typeof OvercommitSchema>;
export type HypervisorInfo = Static<typeof HypervisorInfoSchema>;
