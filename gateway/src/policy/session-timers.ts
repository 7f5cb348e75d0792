import type { EffectivePolicy } from './effective-policy';

export type DeadlineReason = 'idle timeout' | 'max session time';

export interface Deadline {
  reason: DeadlineReason;
  /** Epoch ms at which the session is to be closed (may be ≤ now: close it at once). */
  at: number;
}

/**
 * Pure: when the session must end under the policy, the earliest of its idle and
 * session-time limits; undefined when it has neither. Recomputed after every input and
 * every policy change, so a shortened limit can already be due.
 *
 * Idle counts from the last client → guest byte on an inputs channel (openedAt until the
 * first): a session with its inputs channel denied, or a viewer that only watches, is
 * idle by design and ends after the idle timeout. Deadlines are absolute: `_now` is in
 * the signature so callers compare `at` with the same clock they pass.
 */
export function sessionDeadline(info: { openedAt: number; lastInputAt: number }, p: EffectivePolicy, _now: number): Deadline | undefined {
  const candidates: Deadline[] = [];
  if (p.idleTimeoutMs !== undefined) candidates.push({ reason: 'idle timeout', at: Math.max(info.lastInputAt, info.openedAt) + p.idleTimeoutMs });
  if (p.maxSessionMs !== undefined) candidates.push({ reason: 'max session time', at: info.openedAt + p.maxSessionMs });
  let first: Deadline | undefined;
  // On a tie the session-time limit is the reason given: it is the one input cannot avoid.
  for (const c of candidates) if (!first || c.at < first.at || (c.at === first.at && c.reason === 'max session time')) first = c;
  return first;
}
