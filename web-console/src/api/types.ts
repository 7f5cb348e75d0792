/** The API's response bodies the portal and the admin view read (services/api/src/schemas). */

export const DESKTOP_PHASES = ['Pending', 'Scheduling', 'Provisioning', 'Starting', 'Running', 'Stopping', 'Stopped', 'Migrating', 'Failed', 'Deleting'] as const;
export type DesktopPhase = (typeof DESKTOP_PHASES)[number];
export type RunStrategy = 'Always' | 'Halted' | 'Manual';
export type Role = 'user' | 'tenant-admin' | 'platform-ops';

export interface Caller {
  subject: string;
  user: string;
  tenant: string;
  groups: string[];
  roles: Role[];
}

export interface Desktop {
  name: string;
  tenant: string;
  owner?: string;
  template: string;
  runStrategy: RunStrategy;
  persistent: boolean;
  phase: DesktopPhase;
  ready: boolean;
  consoleReady: boolean;
  reason?: string;
  message?: string;
  createdAt?: string;
  runningSince?: string;
  deleting: boolean;
  host?: string;
}

/** A pool I may claim a desktop from (GET /pools). */
export interface Pool {
  name: string;
  tenant: string;
  template: string;
  assignment: 'Dedicated' | 'Floating';
  size: number;
  desktops: number;
  /** Unclaimed and running: Connect is instant. */
  free: number;
  /** Unclaimed in any state: Connect succeeds (it may wait while one starts). */
  available: number;
  claimed: number;
  /** The desktop I hold in this pool. */
  mine?: Desktop;
}

export interface Template {
  name: string;
  source: 'tenant' | 'shared';
  image: string;
  vcpus: number;
  memory: string;
  disk?: string;
  ready?: boolean;
}

export interface Session {
  key: string;
  user: string;
  tenant: string;
  desktop: string;
  source: string;
  transport: string;
  openedAt: string;
  lastInputAt: string;
  policy: string;
  migrating: boolean;
  channels: { name: string; bytesToClient: number; bytesToGuest: number }[];
}

export interface Tenant {
  name: string;
  displayName?: string;
  quota: { desktops?: number; vcpus?: number; memory?: string };
  usage: { desktops: number; vcpus: number; memory: string; memoryBytes: number };
  admins?: { users: string[]; groups: string[] };
}

export interface Policy {
  name: string;
  spec: {
    subjects?: unknown;
    priority?: number;
    bandwidth?: unknown;
    deniedChannels?: string[];
    clipboard?: string;
    maxConcurrentSessions?: number;
    idleTimeoutSeconds?: number;
    maxSessionSeconds?: number;
  };
  ready?: boolean;
  createdAt?: string;
}

export interface List<T> {
  items: T[];
}
