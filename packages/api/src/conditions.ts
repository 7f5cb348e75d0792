/**
 * Kubernetes conditions (metav1.Condition) and the helpers every controller uses to
 * write them. Helpers never mutate: they return a new list, so status is always built on
 * a copy of what the informer cache holds.
 */
import { type Static } from '@sinclair/typebox';
import { type ConditionSchema, type ConditionStatusSchema } from './schema/common';

export type Condition = Static<typeof ConditionSchema>;
export type ConditionStatus = Static<typeof ConditionStatusSchema>;

/** What a controller supplies; lastTransitionTime is the helper's business. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'message'> & { message?: string };

/** Condition types used by Deskplane kinds. `Ready` is on every kind. */
export const ConditionType = {
  /** The object does what it is for: desktop running with console, host heartbeating, pool filled to `warm`. */
  Ready: 'Ready',
  /** VirtualDesktop: a host was chosen (`status.scheduling` says which and why). */
  Scheduled: 'Scheduled',
  /** VirtualDesktop: the disk overlay and the domain exist on the host. */
  Provisioned: 'Provisioned',
  /** KvmHost: maintenance was requested and no guest is left on the host. */
  Drained: 'Drained',
  /** DesktopMigration, DesktopPool: work is under way. */
  Progressing: 'Progressing',
  /** Any kind: the last reconcile failed; the message says why. */
  Degraded: 'Degraded',
  /** VirtualDesktop: True when its policy's desktopIdleSeconds stopped or recycled it; False (Active) once started again. */
  Idle: 'Idle',
} as const;
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** Reasons, in CamelCase as the Condition schema requires. */
export const ConditionReason = {
  // VirtualDesktop
  Pending: 'Pending',
  NoFeasibleHost: 'NoFeasibleHost',
  HostSelected: 'HostSelected',
  Provisioning: 'Provisioning',
  ProvisionFailed: 'ProvisionFailed',
  Starting: 'Starting',
  Running: 'Running',
  Stopped: 'Stopped',
  TemplateNotFound: 'TemplateNotFound',
  // KvmHost
  AgentReady: 'AgentReady',
  HeartbeatMissed: 'HeartbeatMissed',
  AgentUnreachable: 'AgentUnreachable',
  Draining: 'Draining',
  Drained: 'Drained',
  NotInMaintenance: 'NotInMaintenance',
  // DesktopMigration
  MigrationRunning: 'MigrationRunning',
  MigrationSucceeded: 'MigrationSucceeded',
  MigrationFailed: 'MigrationFailed',
  MigrationAborted: 'MigrationAborted',
  // DesktopPool
  Filling: 'Filling',
  PoolReady: 'PoolReady',
  // VirtualDesktop: Idle
  IdleStopped: 'IdleStopped',
  IdleRecycled: 'IdleRecycled',
  Active: 'Active',
  // Any
  ReconcileError: 'ReconcileError',
} as const;

/** metav1.Time on the wire: RFC 3339 with whole seconds, `2025-01-31T09:30:00Z`. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The condition of that type, if any. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition exists with status "True". */
export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** True when the condition exists with status "False" (absent or Unknown is not False). */
export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'False';
}

/**
 * Returns a new list with `cond` set, like apimachinery's meta.SetStatusCondition:
 * `lastTransitionTime` becomes `now` only when the status changes (or the condition is
 * new); reason, message and observedGeneration are always updated. Order is kept; a new
 * condition goes last.
 */
export function setCondition(conditions: readonly Condition[] | undefined, cond: ConditionInput, now: Date | string): Condition[] {
  const list = conditions ? [...conditions] : [];
  const at = typeof now === 'string' ? now : formatTime(now);
  const index = list.findIndex((c) => c.type === cond.type);
  const existing = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: cond.type,
    status: cond.status,
    ...(cond.observedGeneration !== undefined ? { observedGeneration: cond.observedGeneration } : {}),
    lastTransitionTime: existing && existing.status === cond.status ? existing.lastTransitionTime : at,
    reason: cond.reason,
    message: cond.message ?? '',
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/** Returns a new list without the condition of that type. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
