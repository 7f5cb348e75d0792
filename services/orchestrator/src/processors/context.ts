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

export interface MigrationHooks {
  /**
   * Called once the migration has started and before its bandwidth cap is lifted: the SPICE
   * gateway (a later issue) resolves it when every client of the desktop's session is
   * ready to follow the guest. Without a gateway it resolves at once (the default).
   */
  beforeLiftingCap(m: { namespace: string; desktop: string; sourceHost: string; targetHost: string }): Promise<void>;
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
