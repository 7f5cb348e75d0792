import type { VirtualDesktop } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { NOW, ago, desktop } from '../controllers/shared/fixtures';
import { Annotations, decideActivity, formatDuration, idleCondition, poolFacts, type ActivityInput, type DesktopPresence, type PoolFacts } from './decide';

const now = NOW.getTime();
const msAgo = (s: number): number => now - s * 1000;
/** Presence watched for a day, no session open, none ended. */
const quiet = (p: Partial<DesktopPresence> = {}): DesktopPresence => ({ watchingSince: msAgo(86400), open: 0, ...p });
const floating: PoolFacts = { name: 'lab', assignment: 'Floating', releaseAfterSeconds: 60 };
const dedicated: PoolFacts = { name: 'devs', assignment: 'Dedicated', releaseAfterSeconds: 60 };
const idleRule = { seconds: 3600, policy: 'office' };

type Opts = { owner?: string | null; claimedAgo?: number; runningAgo?: number; phase?: string; runStrategy?: 'Always' | 'Halted' | 'Manual'; persistent?: boolean; pool?: string; idleTrue?: boolean; annotations?: Record<string, string>; deleting?: boolean };
function vd(o: Opts = {}): VirtualDesktop {
  const annotations = { ...(o.claimedAgo !== undefined && { [Annotations.ClaimedAt]: ago(o.claimedAgo) }), ...o.annotations };
  return desktop('vd1', {
    spec: {
      ...(o.owner === null ? { owner: undefined } : { owner: o.owner ?? 'alice' }),
      ...(o.runStrategy && { runStrategy: o.runStrategy }),
      ...(o.persistent !== undefined && { persistent: o.persistent }),
      ...(o.pool && { poolRef: { name: o.pool } }),
    },
    meta: { creationTimestamp: ago(7 * 86400), annotations, ...(o.deleting && { deletionTimestamp: ago(1) }) },
    status: {
      phase: (o.phase ?? 'Running') as 'Running',
      timings: { runningAt: ago(o.runningAgo ?? 7200) },
      ...(o.idleTrue && { conditions: [{ type: 'Idle', status: 'True', reason: 'IdleStopped', message: '', lastTransitionTime: ago(600) }] }),
    },
  });
}
const decide = (d: VirtualDesktop, extra: Partial<ActivityInput> = {}) => decideActivity({ desktop: d, now, ...extra });

describe('logout release of floating pool desktops', () => {
  it.each<[string, string, Opts, Partial<ActivityInput>]>([
    ['grace not over: ended 59 s ago', 'none', { pool: 'lab', claimedAgo: 3600, persistent: false }, { pool: floating, presence: quiet({ lastEndedAt: msAgo(59) }) }],
    ['grace over: ended 60 s ago', 'release', { pool: 'lab', claimedAgo: 3600, persistent: false }, { pool: floating, presence: quiet({ lastEndedAt: msAgo(60) }) }],
    ['a session is open', 'none', { pool: 'lab', claimedAgo: 3600, persistent: false }, { pool: floating, presence: quiet({ open: 1, lastEndedAt: msAgo(900) }) }],
    ['never connected, claimed 599 s ago (grace 10 × 60 s)', 'none', { pool: 'lab', claimedAgo: 599, persistent: false }, { pool: floating, presence: quiet() }],
    ['never connected, claimed 600 s ago', 'release', { pool: 'lab', claimedAgo: 600, persistent: false }, { pool: floating, presence: quiet() }],
    ['a session end from before the claim is an earlier holder\'s', 'none', { pool: 'lab', claimedAgo: 120, persistent: false }, { pool: floating, presence: quiet({ lastEndedAt: msAgo(3000) }) }],
    ['presence watched only for 30 s', 'none', { pool: 'lab', claimedAgo: 3600, persistent: false }, { pool: floating, presence: quiet({ watchingSince: msAgo(30), lastEndedAt: msAgo(900) }) }],
    ['no gateway reports presence', 'none', { pool: 'lab', claimedAgo: 3600, persistent: false }, { pool: floating }],
    ['unclaimed pool desktop', 'none', { owner: null, pool: 'lab', persistent: false }, { pool: floating, presence: quiet() }],
    ['dedicated pool', 'none', { pool: 'devs', claimedAgo: 3600 }, { pool: dedicated, presence: quiet({ lastEndedAt: msAgo(900) }) }],
    ['already being recycled', 'none', { pool: 'lab', claimedAgo: 3600, persistent: false, annotations: { [Annotations.Recycle]: 'logout' } }, { pool: floating, presence: quiet({ lastEndedAt: msAgo(900) }) }],
    ['being deleted', 'none', { pool: 'lab', claimedAgo: 3600, persistent: false, deleting: true }, { pool: floating, presence: quiet({ lastEndedAt: msAgo(900) }) }],
  ])('%s → %s', (_what, kind, o, input) => {
    expect(decide(vd(o), input).kind).toBe(kind);
  });

  it('releaseAfterSeconds 0 releases at once after a session, but a never-connected claim still gets 300 s', () => {
    const zero = { ...floating, releaseAfterSeconds: 0 };
    expect(decide(vd({ pool: 'lab', claimedAgo: 3600, persistent: false }), { pool: zero, presence: quiet({ lastEndedAt: now }) }).kind).toBe('release');
    expect(decide(vd({ pool: 'lab', claimedAgo: 299, persistent: false }), { pool: zero, presence: quiet() }).kind).toBe('none');
    expect(decide(vd({ pool: 'lab', claimedAgo: 300, persistent: false }), { pool: zero, presence: quiet() }).kind).toBe('release');
  });

  it('says why in the Event message', () => {
    const a = decide(vd({ pool: 'lab', claimedAgo: 3600, persistent: false }), { pool: floating, presence: quiet({ lastEndedAt: msAgo(125) }) });
    expect(a).toEqual({ kind: 'release', quietMs: 125_000, message: 'last console session ended 2m 5s ago (pool lab releaseAfterSeconds 60): returned to pool lab for reset' });
    const never = decide(vd({ pool: 'lab', claimedAgo: 700, persistent: false }), { pool: floating, presence: quiet() });
    expect(never).toMatchObject({ kind: 'release', message: 'claimed 11m 40s ago and never connected to (grace 600s): returned to pool lab for reset' });
  });
});

describe('idle stop and recycle', () => {
  it.each<[string, string, Opts, Partial<ActivityInput>]>([
    ['persistent, quiet 3600 s', 'idle-stop', { runningAgo: 7200 }, { idle: idleRule, presence: quiet({ lastEndedAt: msAgo(3600) }) }],
    ['persistent, quiet 3599 s', 'none', { runningAgo: 7200 }, { idle: idleRule, presence: quiet({ lastEndedAt: msAgo(3599) }) }],
    ['started 10 min ago, never connected', 'none', { runningAgo: 600 }, { idle: idleRule, presence: quiet() }],
    ['running 2 h, never connected', 'idle-stop', { runningAgo: 7200 }, { idle: idleRule, presence: quiet() }],
    ['claimed 30 min ago wins over an old start', 'none', { runningAgo: 7200, claimedAgo: 1800, pool: 'devs' }, { pool: dedicated, idle: idleRule, presence: quiet() }],
    ['a session is open', 'none', { runningAgo: 7200 }, { idle: idleRule, presence: quiet({ open: 2 }) }],
    ['no policy sets desktopIdleSeconds', 'none', { runningAgo: 7200 }, { presence: quiet() }],
    ['no gateway reports presence', 'none', { runningAgo: 7200 }, { idle: idleRule }],
    ['presence watched only for 10 min', 'none', { runningAgo: 7200 }, { idle: idleRule, presence: quiet({ watchingSince: msAgo(600) }) }],
    ['stopped already', 'none', { phase: 'Stopped' }, { idle: idleRule, presence: quiet() }],
    ['runStrategy Manual', 'none', { runStrategy: 'Manual' }, { idle: idleRule, presence: quiet() }],
    ['runStrategy Halted, still stopping', 'none', { runStrategy: 'Halted' }, { idle: idleRule, presence: quiet() }],
    ['unclaimed pool desktop', 'none', { owner: null, pool: 'lab', persistent: false }, { pool: floating, idle: idleRule, presence: quiet() }],
    ['non-persistent pool desktop → recycle', 'idle-recycle', { pool: 'lab', persistent: false, claimedAgo: 7200 }, { pool: { ...floating, releaseAfterSeconds: 86400 }, idle: idleRule, presence: quiet({ open: 0 }) }],
    ['dedicated (persistent) pool desktop → stop', 'idle-stop', { pool: 'devs', claimedAgo: 7200 }, { pool: dedicated, idle: idleRule, presence: quiet() }],
    ['non-persistent desktop outside a pool → stop (a stop resets it)', 'idle-stop', { persistent: false }, { idle: idleRule, presence: quiet() }],
  ])('%s → %s', (_what, kind, o, input) => {
    expect(decide(vd(o), input).kind).toBe(kind);
  });

  it('a floating desktop past its release grace is released, not recycled for idleness', () => {
    expect(decide(vd({ pool: 'lab', claimedAgo: 7200, persistent: false }), { pool: floating, idle: idleRule, presence: quiet({ lastEndedAt: msAgo(3700) }) }).kind).toBe('release');
  });

  it('names the idle time and the policy, and sets Idle True with the same reason', () => {
    const a = decide(vd({ runningAgo: 7200 }), { idle: idleRule, presence: quiet({ lastEndedAt: msAgo(3725) }) });
    expect(a).toEqual({ kind: 'idle-stop', idleMs: 3_725_000, message: 'no console session for 1h 2m 5s (policy office: desktopIdleSeconds 3600): stopped' });
    expect(idleCondition(a)).toEqual({ status: 'True', reason: 'IdleStopped', message: a.kind === 'idle-stop' ? a.message : '' });
    const r = decide(vd({ pool: 'lab', persistent: false, claimedAgo: 7200 }), { pool: { ...floating, releaseAfterSeconds: 86400 }, idle: idleRule, presence: quiet() });
    expect(idleCondition(r)).toMatchObject({ status: 'True', reason: 'IdleRecycled' });
    expect(idleCondition({ kind: 'release', quietMs: 1, message: '' })).toBeUndefined();
  });
});

describe('the Idle condition is cleared when a stopped desktop runs again', () => {
  it.each<[string, string, Opts, Partial<ActivityInput>]>([
    ['Idle True, started again (Always, Running), not idle now', 'mark-active', { idleTrue: true, runningAgo: 60 }, { idle: idleRule, presence: quiet() }],
    ['…even with no gateway reporting presence', 'mark-active', { idleTrue: true, runningAgo: 60 }, {}],
    ['Idle True but still Halted / Stopped', 'none', { idleTrue: true, runStrategy: 'Halted', phase: 'Stopped' }, { idle: idleRule, presence: quiet() }],
    ['Idle True, Always but still Starting', 'none', { idleTrue: true, phase: 'Starting' }, { idle: idleRule, presence: quiet() }],
    ['Idle True, running and idle again → stopped again', 'idle-stop', { idleTrue: true, runningAgo: 7200 }, { idle: idleRule, presence: quiet() }],
    ['never idle-stopped, running', 'none', { runningAgo: 60 }, { idle: idleRule, presence: quiet() }],
  ])('%s → %s', (_what, kind, o, input) => {
    expect(decide(vd(o), input).kind).toBe(kind);
  });

  it('writes Idle False with reason Active', () => {
    expect(idleCondition(decide(vd({ idleTrue: true, runningAgo: 60 })))).toMatchObject({ status: 'False', reason: 'Active' });
  });
});

describe('helpers', () => {
  it('reads releaseAfterSeconds defensively', () => {
    expect(poolFacts('p', { assignment: 'Floating', releaseAfterSeconds: 5 } as never)).toEqual({ name: 'p', assignment: 'Floating', releaseAfterSeconds: 5 });
    expect(poolFacts('p', { assignment: 'Floating' } as never).releaseAfterSeconds).toBe(60);
    expect(poolFacts('p', { releaseAfterSeconds: '30' } as never)).toEqual({ name: 'p', assignment: 'Dedicated', releaseAfterSeconds: 60 });
    expect(poolFacts('p', { releaseAfterSeconds: -1 }).releaseAfterSeconds).toBe(60);
    expect(poolFacts('p', undefined).assignment).toBe('Dedicated');
  });

  it('formats durations', () => {
    expect([0, 999, 45_000, 125_000, 3_725_000, 90_061_000].map(formatDuration)).toEqual(['0s', '0s', '45s', '2m 5s', '1h 2m 5s', '1d 1h 1m 1s']);
  });
});
