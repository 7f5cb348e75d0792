import { hostAgent } from '@deskplane/grpc-contracts';
import type { DomainEvent, GuestInfo, GuestState, Hypervisor, MigrationPhase, MigrationStats } from '../driver/types';
import type { Resources } from './capacity';
import type { Sequenced } from './event-log';

/** Pure mappings from the driver's types to the proto messages. */

const GUEST_STATE: Record<GuestState, hostAgent.GuestState> = {
  defined: hostAgent.GuestState.GUEST_STATE_DEFINED,
  running: hostAgent.GuestState.GUEST_STATE_RUNNING,
  paused: hostAgent.GuestState.GUEST_STATE_PAUSED,
  shutting_down: hostAgent.GuestState.GUEST_STATE_SHUTTING_DOWN,
  shutoff: hostAgent.GuestState.GUEST_STATE_SHUTOFF,
  crashed: hostAgent.GuestState.GUEST_STATE_CRASHED,
};

const HYPERVISOR: Record<Hypervisor, hostAgent.Hypervisor> = {
  kvm: hostAgent.Hypervisor.HYPERVISOR_KVM,
  'qemu-tcg': hostAgent.Hypervisor.HYPERVISOR_QEMU_TCG,
};

const PHASE: Record<MigrationPhase, hostAgent.MigrationPhase> = {
  starting: hostAgent.MigrationPhase.MIGRATION_PHASE_STARTING,
  migrating: hostAgent.MigrationPhase.MIGRATION_PHASE_MIGRATING,
  post_copy: hostAgent.MigrationPhase.MIGRATION_PHASE_POST_COPY,
  succeeded: hostAgent.MigrationPhase.MIGRATION_PHASE_SUCCEEDED,
  failed: hostAgent.MigrationPhase.MIGRATION_PHASE_FAILED,
  aborted: hostAgent.MigrationPhase.MIGRATION_PHASE_ABORTED,
};

const EVENT_TYPE: Record<DomainEvent['type'], hostAgent.GuestEventType> = {
  started: hostAgent.GuestEventType.GUEST_EVENT_TYPE_STARTED,
  stopped: hostAgent.GuestEventType.GUEST_EVENT_TYPE_STOPPED,
  crashed: hostAgent.GuestEventType.GUEST_EVENT_TYPE_CRASHED,
  migrated_in: hostAgent.GuestEventType.GUEST_EVENT_TYPE_MIGRATED_IN,
  migrated_out: hostAgent.GuestEventType.GUEST_EVENT_TYPE_MIGRATED_OUT,
};

export const toHypervisor = (h: Hypervisor): hostAgent.Hypervisor => HYPERVISOR[h] ?? hostAgent.Hypervisor.HYPERVISOR_UNSPECIFIED;

export function toGuest(g: GuestInfo, consoleAddress: string): hostAgent.Guest {
  return {
    desktopUid: g.desktopUid,
    domainName: g.domainName,
    state: GUEST_STATE[g.state] ?? hostAgent.GuestState.GUEST_STATE_UNSPECIFIED,
    spicePort: g.spicePort,
    consoleAddress,
    vcpus: g.vcpus,
    memoryBytes: g.memoryBytes,
    diskPath: g.diskPath,
    goldenImage: g.goldenImage,
    stateReason: g.stateReason,
  };
}

export function toResources(r: Resources): hostAgent.Resources {
  return { vcpus: r.vcpus, memoryBytes: r.memoryBytes, diskBytes: r.diskBytes };
}

export function toProgress(desktopUid: string, s: MigrationStats): hostAgent.MigrationProgress {
  return {
    desktopUid,
    phase: PHASE[s.phase] ?? hostAgent.MigrationPhase.MIGRATION_PHASE_UNSPECIFIED,
    bytesProcessed: s.bytesProcessed,
    bytesRemaining: s.bytesRemaining,
    bytesTotal: s.bytesTotal,
    bandwidthMibPerSecond: BigInt(Math.max(0, Math.round(s.bandwidthMiBps))),
    elapsedMs: BigInt(Math.max(0, Math.round(s.elapsedMs))),
    downtimeMs: BigInt(Math.max(0, Math.round(s.downtimeMs ?? 0))),
    message: s.message ?? '',
  };
}

export function toGuestEvent(e: Sequenced<DomainEvent>, epoch: string): hostAgent.GuestEvent {
  return {
    epoch,
    sequence: BigInt(e.sequence),
    desktopUid: e.event.desktopUid,
    type: EVENT_TYPE[e.event.type] ?? hostAgent.GuestEventType.GUEST_EVENT_TYPE_UNSPECIFIED,
    time: e.event.time.toISOString(),
    detail: e.event.detail,
  };
}

/** Counts per state for the guests gauge (every state present, zeros included). */
export function countStates(guests: readonly Pick<GuestInfo, 'state'>[]): Record<GuestState, number> {
  const counts = Object.fromEntries(Object.keys(GUEST_STATE).map(s => [s, 0])) as Record<GuestState, number>;
  for (const g of guests) counts[g.state] = (counts[g.state] ?? 0) + 1;
  return counts;
}
