/**
 * Pure: what `spec.runStrategy` asks of a placed desktop right now. The operator only
 * decides and enqueues a `start` or `stop` job; the orchestrator runs it and writes the
 * phases (Starting → Running, Stopping → Stopped).
 */
import type { DesktopPhase, VirtualDesktop } from '@deskplane/api';
import type { EventIntent } from './decide';

/** Phases in which the run strategy is never acted on: someone else owns the guest right now. */
export const HANDS_OFF_PHASES: readonly DesktopPhase[] = ['Pending', 'Scheduling', 'Provisioning', 'Migrating', 'Deleting'];

export type RunStrategyDecision =
  | { kind: 'none'; why: string }
  | { kind: 'start' | 'stop'; host: string; event: EventIntent };

/**
 * Always + Stopped → start; Halted + Running → stop; Manual → nothing (users start and
 * stop through the API). Transitional phases (Starting, Stopping) and Failed wait; so
 * does a desktop whose host is not Ready (the job could not reach it). The job id comes
 * from the desktop's generation, so each spec change enqueues once (see jobs.ts).
 */
export function decideRunStrategy(vd: VirtualDesktop, hostReady: boolean): RunStrategyDecision {
  const host = vd.status?.host;
  const phase = vd.status?.phase;
  if (vd.metadata.deletionTimestamp) return { kind: 'none', why: 'being deleted' };
  if (!host) return { kind: 'none', why: 'not placed' };
  if (!phase || HANDS_OFF_PHASES.includes(phase)) return { kind: 'none', why: `phase ${phase ?? 'unset'}` };
  const strategy = vd.spec.runStrategy ?? 'Always';
  let action: 'start' | 'stop' | undefined;
  if (strategy === 'Always' && phase === 'Stopped') action = 'start';
  else if (strategy === 'Halted' && phase === 'Running') action = 'stop';
  if (!action) return { kind: 'none', why: `runStrategy ${strategy} with phase ${phase}` };
  if (!hostReady) return { kind: 'none', why: `host ${host} is not Ready` };
  return action === 'start'
    ? { kind: 'start', host, event: { type: 'Normal', reason: 'StartRequested', message: `runStrategy Always: starting the guest on ${host}` } }
    : { kind: 'stop', host, event: { type: 'Normal', reason: 'StopRequested', message: `runStrategy Halted: stopping the guest on ${host}` } };
}
