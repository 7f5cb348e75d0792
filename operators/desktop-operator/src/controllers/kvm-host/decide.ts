/**
 * Pure: the KvmHost status that follows from one heartbeat attempt. Success records what
 * the agent reported and Ready=True; a failure keeps the last report, and only once the
 * last heartbeat is older than the grace period does Ready turn False (AgentUnreachable),
 * so one lost call does not take a host out of scheduling.
 */
import { ConditionReason, ConditionType, formatQuantity, formatTime, getCondition, parseQuantity, type ConditionInput, type KvmHost, type KvmHostStatus } from '@deskplane/api';
import type { StatusPatch } from '../shared/status';
import type { AgentHostInfo } from './probe';

/** Condition types and reasons the host loop adds to the API's own. */
export const HostCondition = { Schedulable: 'Schedulable' } as const;
export const HostReason = { Schedulable: 'Schedulable', Maintenance: 'Maintenance', Cordoned: 'Cordoned', AwaitingHeartbeat: 'AwaitingHeartbeat' } as const;

export interface HostObservation {
  host: KvmHost;
  /** The heartbeat's outcome. */
  probe: { ok: true; info: AgentHostInfo } | { ok: false; error: string };
  /** Desktops the operator has placed on this host (for Drained). */
  placedDesktops: number;
  /** Appended to the Draining message (see drain.ts: drainNote). */
  drainNote?: string;
  now: Date;
  graceMs: number;
}

export interface HostDecision {
  patch: StatusPatch<KvmHostStatus>;
  /** Ready after this heartbeat, to tell transitions apart for Events. */
  ready: 'True' | 'False' | 'Unknown';
}

const bytes = (n: number): string => formatQuantity(Math.max(0, Math.floor(n)));

export function decideHostStatus(o: HostObservation): HostDecision {
  const { host, probe, now } = o;
  const generation = host.metadata.generation;
  const gen = generation !== undefined ? { observedGeneration: generation } : {};
  const conditions: ConditionInput[] = [];
  const set: Partial<KvmHostStatus> = { ...gen };
  let ready: HostDecision['ready'];
  let guestCount = host.status?.guestCount ?? 0;

  if (probe.ok) {
    const { info } = probe;
    const reservedCpu = host.spec.reserved?.vcpus ?? 0;
    const reservedMem = host.spec.reserved?.memory !== undefined ? parseQuantity(host.spec.reserved.memory) : 0;
    set.capacity = { vcpus: info.capacity.vcpus, memory: bytes(info.capacity.memoryBytes), disk: bytes(info.capacity.diskBytes) };
    set.allocatable = {
      vcpus: Math.max(0, info.capacity.vcpus - reservedCpu),
      memory: bytes(info.capacity.memoryBytes - reservedMem),
      disk: bytes(info.capacity.diskBytes),
    };
    set.allocated = { vcpus: info.allocated.vcpus, memory: bytes(info.allocated.memoryBytes), disk: bytes(info.allocated.diskBytes) };
    set.guestCount = guestCount = info.guestCount;
    set.hypervisor = {
      type: info.hypervisor,
      ...(info.libvirtVersion ? { libvirtVersion: info.libvirtVersion.slice(0, 64) } : {}),
      ...(info.qemuVersion ? { qemuVersion: info.qemuVersion.slice(0, 64) } : {}),
      ...(info.agentVersion ? { agentVersion: info.agentVersion.slice(0, 64) } : {}),
    };
    set.heartbeatTime = formatTime(now);
    ready = 'True';
    conditions.push({ type: ConditionType.Ready, status: 'True', reason: ConditionReason.AgentReady, message: `agent ${info.agentVersion || '?'} on ${info.hostname || host.metadata.name} answered`, ...gen });
  } else {
    const last = host.status?.heartbeatTime ?? host.metadata.creationTimestamp;
    const ageMs = last ? now.getTime() - Date.parse(last) : Infinity;
    const current = getCondition(host.status?.conditions, ConditionType.Ready);
    if (ageMs > o.graceMs) {
      ready = 'False';
      const since = host.status?.heartbeatTime ? `no heartbeat for ${Math.round(ageMs / 1000)}s` : 'no heartbeat yet';
      conditions.push({ type: ConditionType.Ready, status: 'False', reason: ConditionReason.AgentUnreachable, message: `${since}: ${probe.error}`, ...gen });
    } else if (!current) {
      ready = 'Unknown';
      conditions.push({ type: ConditionType.Ready, status: 'Unknown', reason: HostReason.AwaitingHeartbeat, message: `waiting for the first heartbeat: ${probe.error}`, ...gen });
    } else {
      ready = current.status; // within the grace period: keep what we last knew
    }
  }

  const maintenance = host.spec.maintenance === true;
  if (maintenance) conditions.push({ type: HostCondition.Schedulable, status: 'False', reason: HostReason.Maintenance, message: 'spec.maintenance is set: no new desktops', ...gen });
  else if (host.spec.schedulable === false) conditions.push({ type: HostCondition.Schedulable, status: 'False', reason: HostReason.Cordoned, message: 'spec.schedulable is false: no new desktops', ...gen });
  else conditions.push({ type: HostCondition.Schedulable, status: 'True', reason: HostReason.Schedulable, message: '', ...gen });

  // Drained needs both: no desktop placed here, and no guest reported by the agent (one the operator does not know of counts too).
  const name = host.metadata.name ?? '';
  const placed = o.placedDesktops;
  const left =
    placed > 0
      ? `${placed} desktop${placed === 1 ? '' : 's'} still on ${name}`
      : guestCount > 0
        ? `the agent still reports ${guestCount} guest${guestCount === 1 ? '' : 's'} on ${name}`
        : undefined;
  if (!maintenance) conditions.push({ type: ConditionType.Drained, status: 'False', reason: ConditionReason.NotInMaintenance, message: '', ...gen });
  else if (left) conditions.push({ type: ConditionType.Drained, status: 'False', reason: ConditionReason.Draining, message: o.drainNote ? `${left}; ${o.drainNote}` : left, ...gen });
  else conditions.push({ type: ConditionType.Drained, status: 'True', reason: ConditionReason.Drained, message: 'no guest left on the host', ...gen });

  return { patch: { set, conditions }, ready };
}
