/** What a caller sees of a desktop, and whether they may see or act on it at all. */
import type { DesktopPhase, RunStrategy } from '@deskplane/api';
import { isOps, isTenantAdmin } from './access';
import type { Caller } from './caller';
import { Forbidden, NotFound } from './errors';
import type { DesktopObject } from './resources';

export interface DesktopView {
  name: string;
  tenant: string;
  /** Unset only for an unclaimed pool desktop. */
  owner?: string;
  template: string;
  runStrategy: RunStrategy;
  persistent: boolean;
  /** `Pending` until the operator has written a phase. */
  phase: DesktopPhase;
  /** The Ready condition is True. */
  ready: boolean;
  /** Running with a console the gateway can reach: a console can be opened. */
  consoleReady: boolean;
  /** The Ready condition's reason (CamelCase), e.g. `Running`, `Unschedulable`, `HostNotReady`. */
  reason?: string;
  /** The Ready condition's message: platform ops only (it names hosts and addresses). */
  message?: string;
  createdAt?: string;
  runningSince?: string;
  /** Deletion was requested; the desktop goes once its guest is removed. */
  deleting: boolean;
  /** The KvmHost it runs on: platform ops only (tenants never see hosts). */
  host?: string;
}

export function desktopView(d: DesktopObject, caller: Caller): DesktopView {
  const ready = d.status?.conditions?.find((c) => c.type === 'Ready');
  const phase = d.status?.phase ?? 'Pending';
  return {
    name: d.metadata.name,
    tenant: d.metadata.namespace ?? '',
    ...(d.spec.owner !== undefined ? { owner: d.spec.owner } : {}),
    template: d.spec.templateRef.name,
    runStrategy: d.spec.runStrategy ?? 'Always',
    persistent: d.spec.persistent ?? true,
    phase,
    ready: ready?.status === 'True',
    consoleReady: phase === 'Running' && d.status?.console?.ready === true,
    ...(ready ? { reason: ready.reason } : {}),
    // Messages name hosts and addresses ("running on kvm-host-1, console at …"): ops only.
    ...(ready?.message && isOps(caller) ? { message: ready.message } : {}),
    ...(d.metadata.creationTimestamp ? { createdAt: d.metadata.creationTimestamp } : {}),
    ...(phase === 'Running' && d.status?.timings?.runningAt ? { runningSince: d.status.timings.runningAt } : {}),
    deleting: d.metadata.deletionTimestamp !== undefined,
    ...(isOps(caller) && d.status?.host ? { host: d.status.host } : {}),
  };
}

/** Whether the caller may see this desktop at all (list, watch). */
export function canSee(c: Caller, d: DesktopObject): boolean {
  if (isOps(c)) return true;
  if (d.metadata.namespace !== c.tenant) return false;
  return isTenantAdmin(c) || (d.spec.owner !== undefined && d.spec.owner === c.user);
}

/**
 * The desktop, if the caller may act on it: another tenant's (or none) is NotFound, a
 * colleague's desktop without the tenant-admin role is Forbidden.
 */
export function mayAct(c: Caller, d: DesktopObject | undefined, name: string): DesktopObject {
  if (!d || (!isOps(c) && d.metadata.namespace !== c.tenant)) throw new NotFound(`desktop ${JSON.stringify(name)} not found`);
  if (!canSee(c, d)) throw new Forbidden(`desktop ${JSON.stringify(name)} belongs to another user`);
  return d;
}
