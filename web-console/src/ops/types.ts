/**
 * The ops routes' response shapes, as services/api/src/schemas declares them. Written out
 * here rather than imported: the API's schema package pulls Nest and TypeBox into the
 * browser bundle.
 */

export interface HostResources {
  vcpus: number;
  /** A Kubernetes quantity: `8Gi`, `512Mi`, `1073741824`. */
  memory: string;
  disk?: string;
}

export interface Host {
  name: string;
  labels: Record<string, string>;
  agentEndpoint: string;
  ready: boolean;
  readyReason?: string;
  readyMessage?: string;
  schedulable: boolean;
  maintenance: boolean;
  drained: boolean;
  drainMessage?: string;
  capacity?: HostResources;
  allocatable?: HostResources;
  allocated?: HostResources;
  guestCount?: number;
  desktops: number;
  heartbeatTime?: string;
  hypervisor?: { type: 'kvm' | 'qemu'; libvirtVersion?: string; qemuVersion?: string; agentVersion?: string };
}

export const MIGRATION_PHASES = ['Pending', 'Scheduling', 'PreparingTarget', 'Migrating', 'Succeeded', 'Failed', 'Aborted'] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

export interface Migration {
  name: string;
  tenant: string;
  desktop: string;
  phase: MigrationPhase;
  sourceHost?: string;
  targetHost?: string;
  progressPercent?: number;
  bytesProcessed?: number;
  bytesRemaining?: number;
  downtimeMs?: number;
  startTime?: string;
  endTime?: string;
  message?: string;
  aborting: boolean;
  createdAt?: string;
}

export interface SessionChannel {
  name: string;
  bytesToClient: number;
  bytesToGuest: number;
}

export interface Session {
  key: string;
  user: string;
  tenant: string;
  /** namespace/name. */
  desktop: string;
  source: string;
  transport: string;
  openedAt: string;
  lastInputAt: string;
  upstream?: string;
  policy: string;
  migrating: boolean;
  channels: SessionChannel[];
}

export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueCounts {
  queue: string;
  paused: boolean;
  counts: Record<JobState, number>;
}

export interface AuditEntry {
  id: string;
  time: string;
  action: string;
  tenant?: string;
  user?: string;
  desktop?: string;
  details?: Record<string, unknown>;
}

export const DESKTOP_PHASES = ['Pending', 'Scheduling', 'Provisioning', 'Starting', 'Running', 'Stopping', 'Stopped', 'Migrating', 'Failed', 'Deleting'] as const;

/** The part of a Desktop the dashboard reads. */
export interface DesktopSummary {
  name: string;
  tenant: string;
  phase: string;
  deleting: boolean;
  host?: string;
}

export interface List<T> {
  items: T[];
}
