import { describe, expect, it } from 'vitest';
import { UNRESTRICTED, type EffectivePolicy } from './effective-policy';
import { sessionDeadline } from './session-timers';

const p = (o: Partial<EffectivePolicy>): EffectivePolicy => ({ ...UNRESTRICTED, ...o });
const MIN = 60_000;

describe('sessionDeadline', () => {
  // [case, {openedAt, lastInputAt}, policy, expected]
  const cases: Array<[string, { openedAt: number; lastInputAt: number }, EffectivePolicy, ReturnType<typeof sessionDeadline>]> = [
    ['no limits: never', { openedAt: 0, lastInputAt: 0 }, UNRESTRICTED, undefined],
    ['idle only, no input yet: from the open', { openedAt: 1000, lastInputAt: 1000 }, p({ idleTimeoutMs: 30 * MIN }), { reason: 'idle timeout', at: 1000 + 30 * MIN }],
    ['idle only: from the last input', { openedAt: 0, lastInputAt: 20 * MIN }, p({ idleTimeoutMs: 30 * MIN }), { reason: 'idle timeout', at: 50 * MIN }],
    ['session time only', { openedAt: 5000, lastInputAt: 9 * MIN }, p({ maxSessionMs: 60 * MIN }), { reason: 'max session time', at: 5000 + 60 * MIN }],
    ['both: idle first', { openedAt: 0, lastInputAt: 10 * MIN }, p({ idleTimeoutMs: 30 * MIN, maxSessionMs: 12 * 60 * MIN }), { reason: 'idle timeout', at: 40 * MIN }],
    ['both: session time first (steady input)', { openedAt: 0, lastInputAt: 55 * MIN }, p({ idleTimeoutMs: 30 * MIN, maxSessionMs: 60 * MIN }), { reason: 'max session time', at: 60 * MIN }],
    ['tie: the session-time reason', { openedAt: 0, lastInputAt: 30 * MIN }, p({ idleTimeoutMs: 30 * MIN, maxSessionMs: 60 * MIN }), { reason: 'max session time', at: 60 * MIN }],
    ['a shortened limit can already be due (at ≤ now)', { openedAt: 0, lastInputAt: 0 }, p({ maxSessionMs: 1 * MIN }), { reason: 'max session time', at: 1 * MIN }],
  ];
  it.each(cases)('%s', (_case, info, policy, expected) => {
    expect(sessionDeadline(info, policy, 90 * MIN)).toEqual(expected);
  });
});
