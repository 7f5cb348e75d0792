/**
 * Pure: what a placed desktop's host being NotReady means for the desktop. Persistent
 * desktops (their disk lives on that host) are marked and wait for it; non-persistent
 * ones are evicted: `status.host` cleared, phase Pending, so the placement path puts them
 * on another host. The guest left on the unreachable host is not deprovisioned here (the
 * host cannot be reached); drift repair removes it once the host is back.
 */
import { ConditionType, getCondition, type VirtualDesktop, type VirtualDesktopStatus } from '@deskplane/api';
import type { StatusPatch } from '../shared/status';
import type { EventIntent } from './decide';

export const HostHealthReason = {
  /** Ready=False on a desktop whose host is Ready=False; Scheduled=False on an evicted one. */
  HostNotReady: 'HostNotReady',
} as const;

/** The desktop's host as the desktop loop sees it: its Ready status, or Unknown when it is not in the cache (or not ours). */
export interface HostHealth {
  name: string;
  ready: 'True' | 'False' | 'Unknown';
  /** The host's Ready message (why it is not Ready). */
  message?: string;
}

export type HostHealthDecision =
  | { kind: 'none' }
  | { kind: 'mark' | 'recovered'; patch: StatusPatch<VirtualDesktopStatus>; event?: EventIntent }
  | { kind: 'evict'; from: string; patch: StatusPatch<VirtualDesktopStatus>; event: EventIntent };

export function decideHostHealth(vd: VirtualDesktop, host: HostHealth): HostHealthDecision {
  const placedOn = vd.status?.host;
  const phase = vd.status?.phase;
  // Migrating: the orchestrator owns the guest (and rolls back to one host); Deleting: the deletion path.
  if (!placedOn || placedOn !== host.name || vd.metadata.deletionTimestamp || phase === 'Migrating' || phase === 'Deleting') return { kind: 'none' };
  const gen = vd.metadata.generation !== undefined ? { observedGeneration: vd.metadata.generation } : {};
  const ready = getCondition(vd.status?.conditions, ConditionType.Ready);
  const marked = ready?.status === 'False' && ready.reason === HostHealthReason.HostNotReady;
  const why = host.message ? `host ${host.name} is not Ready (${host.message})` : `host ${host.name} is not Ready`;

  if (host.ready === 'False') {
    if (vd.spec.persistent === false) {
      const message = `${why}: rescheduling this non-persistent desktop; the guest left on ${host.name} is removed by drift repair once the host is back`;
      return {
        kind: 'evict',
        from: host.name,
        patch: {
          set: { phase: 'Pending', ...gen },
          unset: ['host', 'console'],
          conditions: [
            { type: ConditionType.Scheduled, status: 'False', reason: HostHealthReason.HostNotReady, message, ...gen },
            { type: ConditionType.Ready, status: 'False', reason: HostHealthReason.HostNotReady, message, ...gen },
          ],
        },
        event: { type: 'Warning', reason: HostHealthReason.HostNotReady, message },
      };
    }
    const message = `${why}: waiting for it (persistent desktop: its disk is on that host)`;
    return {
      kind: 'mark',
      patch: { conditions: [{ type: ConditionType.Ready, status: 'False', reason: HostHealthReason.HostNotReady, message, ...gen }] },
      ...(marked ? {} : { event: { type: 'Warning', reason: HostHealthReason.HostNotReady, message } }),
    };
  }

  if (host.ready === 'True' && marked) {
    // Our mark only: Ready follows the phase again until the orchestrator reports the guest.
    const running = phase === 'Running';
    return {
      kind: 'recovered',
      patch: {
        conditions: [
          running
            ? { type: ConditionType.Ready, status: 'True', reason: 'Running', message: `running on ${host.name}`, ...gen }
            : { type: ConditionType.Ready, status: 'False', reason: phase ?? 'Pending', message: `host ${host.name} is Ready again; phase ${phase ?? 'unset'}`, ...gen },
        ],
      },
      event: { type: 'Normal', reason: 'HostReady', message: `host ${host.name} is Ready again` },
    };
  }
  return { kind: 'none' };
}
