/** Helpers the processors share: reading the job's desktop safely, waiting for a guest state, events. */
import type { ObjectRef } from '@deskplane/queue-contracts';
import type { KubeObject } from '@deskplane/resource-store';
import { GuestState, guestStateName, type Guest, type HostAgent } from '../agents';
import { GuestStateError, GuestStateTimeoutError } from '../errors';
import type { DesktopObject } from '../resources';
import type { JobContext, ProcessorDeps } from './context';

/** The job's desktop, or undefined when it is gone or was recreated (another uid). */
export async function jobDesktop(deps: Pick<ProcessorDeps, 'desktops'>, ref: ObjectRef): Promise<DesktopObject | undefined> {
  const vd = await deps.desktops.get(ref.name, ref.namespace);
  return vd && vd.metadata.uid === ref.uid ? vd : undefined;
}

/** Polls GetGuest until the guest runs with a SPICE port; throws on crash or timeout. */
export async function waitUntilRunning(deps: Pick<ProcessorDeps, 'timing' | 'sleep'>, agent: HostAgent, uid: string): Promise<Guest> {
  const started = Date.now();
  let last: Guest | undefined;
  for (;;) {
    last = await agent.getGuest(uid);
    if (last?.state === GuestState.GUEST_STATE_RUNNING && last.spicePort > 0) return last;
    if (last?.state === GuestState.GUEST_STATE_CRASHED) throw new GuestStateError(`guest crashed on ${agent.host}: ${last.stateReason}`);
    if (Date.now() - started > deps.timing.runningTimeoutMs) throw new GuestStateTimeoutError(agent.host, 'running', guestStateName(last?.state), deps.timing.runningTimeoutMs);
    await deps.sleep(deps.timing.pollMs);
  }
}

export const isRunning = (g: Guest | undefined): boolean => g?.state === GuestState.GUEST_STATE_RUNNING;

/** Records an Event; a failed Event write never fails the step (it is logged). */
export async function emit(deps: Pick<ProcessorDeps, 'events'>, ctx: JobContext, obj: KubeObject | undefined, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
  if (!obj) return;
  await deps.events.record(obj, type, reason, message).catch((e: unknown) => ctx.log.warn({ err: e instanceof Error ? e.message : String(e), reason }, 'event not recorded'));
}
