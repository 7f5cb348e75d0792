/**
 * What every processor gets: its dependencies behind interfaces (no Redis, no BullMQ) and
 * a logger that already carries the job id and the desktop. Processors are functions of
 * (job data, deps); worker.ts is the only place that knows about BullMQ.
 */
import type { EventRecorder, ResourceClient } from '@deskplane/resource-store';
import type { Logger } from 'pino';
import type { HostAgents } from '../agents';
import type { DesktopObject, MigrationObject } from '../resources';
import type { ConsoleSecretStore } from '../secrets';
import type { MigrationSlots } from '../slots';

/** Where the guest's SPICE server listens on the destination (the incoming QEMU). */
export interface ConsoleEndpoint {
  address: string;
  port: number;
}

export interface MigrationHookArgs {
  namespace: string;
  desktop: string;
  sourceHost: string;
  targetHost: string;
}

/**
 * How a migration cooperates with the SPICE gateway (notes: the migration race). With a
 * gateway, libvirt's graphics URI points clients at it, the migration starts under a low
 * bandwidth cap, and the cap is lifted only when beforeLiftingCap resolves — when every
 * client of the desktop has followed the guest to the destination (or the gateway gave up
 * waiting). afterMigration tells the gateway the outcome so its route settles.
 */
export interface MigrationHooks {
  /** libvirt --graphicsuri, e.g. spice://gateway.example:5900; '' = clients go to the destination itself. */
  graphicsUri?: string;
  /** MiB/s the migration starts with until beforeLiftingCap resolves; unset = no hold-back. */
  holdBandwidthMiBps?: number;
  beforeLiftingCap(m: MigrationHookArgs & { destination: ConsoleEndpoint }): Promise<void>;
  afterMigration?(m: MigrationHookArgs & { succeeded: boolean }): Promise<void>;
}

export const NO_GATEWAY_HOOKS: MigrationHooks = { beforeLiftingCap: () => Promise.resolve() };

export interface Timing {
  /** How long to wait for a started guest to report running. */
  runningTimeoutMs: number;
  /** Poll interval while waiting for a guest's state. */
  pollMs: number;
  /** Minimum gap between two progress writes to a DesktopMigration's status. */
  progressWriteMs: number;
  /** How long a job without a migration slot waits before trying again. */
  slotRetryMs: number;
  /** How often a running migration renews its slot lease. */
  slotRenewMs: number;
  /** StopGuest: ACPI grace before the guest is forced off. */
  stopTimeoutSeconds: number;
}

export const DEFAULT_TIMING: Timing = {
  runningTimeoutMs: 120_000,
  pollMs: 500,
  progressWriteMs: 1_000,
  slotRetryMs: 2_000,
  slotRenewMs: 5_000,
  stopTimeoutSeconds: 60,
};

/**
 * One step of a migration slot's life, for an in-process timeline (tests, a drain's proof
 * that the limits held). `acquire` is reported once Redis granted the slot, `release` before
 * it is given back, so the migration itself always lies between the two.
 */
export interface SlotEvent {
  kind: 'acquire' | 'wait' | 'release';
  holder: string;
  sourceHost: string;
  targetHost: string;
  at: number;
}

export interface ProcessorDeps {
  agents: HostAgents;
  desktops: ResourceClient<DesktopObject>;
  migrations: ResourceClient<MigrationObject>;
  secrets: ConsoleSecretStore;
  events: EventRecorder;
  slots: MigrationSlots;
  hooks: MigrationHooks;
  timing: Timing;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** Migrations holding a slot in this process (metrics gauge). */
  onMigrationsInFlight?: (delta: 1 | -1) => void;
  /** Every slot acquire / wait / release of this process (see SlotEvent). */
  onSlotEvent?: (e: SlotEvent) => void;
}

export interface JobContext {
  log: Logger;
  /** This job's id (the migration slot holder id). */
  jobId: string;
}

/** What a processor reports back (the job's return value, visible in BullMQ). */
export interface Outcome {
  result: 'done' | 'skipped';
  detail: string;
  [k: string]: unknown;
}

export const skipped = (detail: string): Outcome => ({ result: 'skipped', detail });
export const done = (detail: string, extra: Record<string, unknown> = {}): Outcome => ({ result: 'done', detail, ...extra });
