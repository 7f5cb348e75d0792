/**
 * Pure: what the activity task does with one desktop, given the desktop, its pool, the
 * idle rule of its policy, the gateways' presence and the time. No I/O here.
 *
 * Evidence of activity, never of inactivity, is what the timestamps are: a desktop is
 * quiet since the latest of its last session end, its start (status.timings.runningAt),
 * its claim (`deskplane.io/claimed-at`) and the moment presence started being watched
 * without a gap (a gateway outage or restart restarts every clock rather than letting a
 * desktop in use look idle).
 */
import { Annotations, ConditionReason, ConditionType, isTrue, type DesktopPoolSpec, type VirtualDesktop } from '@deskplane/api';
import type { IdleRule } from './policy';

export { Annotations } from '@deskplane/api';

export const RecycleReason = { Logout: 'logout', Idle: 'idle' } as const;

/** DesktopPool spec.releaseAfterSeconds when unset. */
export const DEFAULT_RELEASE_AFTER_SECONDS = 60;
/** A claimed floating desktop nobody connected to is released after this many releaseAfterSeconds… */
export const NEVER_CONNECTED_FACTOR = 10;
/** …but never sooner than this: the API waits up to 120 s for a console, and a user needs time to open it. */
export const NEVER_CONNECTED_MIN_SECONDS = 300;

export interface PoolFacts {
  name: string;
  assignment: 'Dedicated' | 'Floating';
  releaseAfterSeconds: number;
}

/** Presence of one desktop; undefined where no gateway writes presence. */
export interface DesktopPresence {
  watchingSince: number;
  open: number;
  lastEndedAt?: number;
}

export interface ActivityInput {
  desktop: Pick<VirtualDesktop, 'metadata' | 'spec' | 'status'>;
  pool?: PoolFacts;
  idle?: IdleRule;
  presence?: DesktopPresence;
  now: number;
}

export type ActivityAction =
  | { kind: 'none'; why: string }
  /** Annotate recycle=logout, Event Released. */
  | { kind: 'release'; quietMs: number; message: string }
  /** runStrategy Halted, Event + condition Idle=True IdleStopped. */
  | { kind: 'idle-stop'; idleMs: number; message: string }
  /** Annotate recycle=idle, Event + condition Idle=True IdleRecycled. */
  | { kind: 'idle-recycle'; idleMs: number; message: string }
  /** Condition Idle=False Active: a desktop stopped for idleness runs again. */
  | { kind: 'mark-active'; message: string };

/** The pool facts the task needs, read defensively: releaseAfterSeconds may be missing or odd. */
export function poolFacts(name: string, spec: Partial<DesktopPoolSpec> | undefined): PoolFacts {
  const raw = (spec as { releaseAfterSeconds?: unknown } | undefined)?.releaseAfterSeconds;
  const release = typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? raw : DEFAULT_RELEASE_AFTER_SECONDS;
  return { name, assignment: spec?.assignment === 'Floating' ? 'Floating' : 'Dedicated', releaseAfterSeconds: release };
}

const timeOf = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
};

const latest = (...ts: (number | undefined)[]): number => Math.max(...ts.filter((t): t is number => t !== undefined));

/** "1h 2m 5s", "45s": durations in Event messages. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ] as const;
  const shown = parts.filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`);
  return shown.length > 0 ? shown.join(' ') : '0s';
}

export function decideActivity(i: ActivityInput): ActivityAction {
  const d = i.desktop;
  const owner = d.spec.owner;
  if (d.metadata.deletionTimestamp) return { kind: 'none', why: 'being deleted' };
  if (d.metadata.annotations?.[Annotations.Recycle] !== undefined) return { kind: 'none', why: 'already being recycled' };
  if (owner === undefined) return { kind: 'none', why: 'unclaimed' };

  const release = decideRelease(i);
  if (release) return release;
  const idle = decideIdle(i);
  if (idle.kind !== 'none') return idle;

  const running = d.status?.phase === 'Running' && (d.spec.runStrategy ?? 'Always') === 'Always';
  if (running && isTrue(d.status?.conditions, ConditionType.Idle)) return { kind: 'mark-active', message: 'started again after being stopped for inactivity' };
  return idle;
}

function decideRelease(i: ActivityInput): ActivityAction | undefined {
  const { pool, presence, desktop: d, now } = i;
  if (pool?.assignment !== 'Floating' || !presence || presence.open > 0) return undefined;
  const claimedAt = timeOf(d.metadata.annotations?.[Annotations.ClaimedAt]) ?? timeOf(d.metadata.creationTimestamp) ?? now;
  // A session end from before this claim belongs to an earlier holder of the name, not to this user.
  const connected = presence.lastEndedAt !== undefined && presence.lastEndedAt >= claimedAt;
  const graceS = connected ? pool.releaseAfterSeconds : Math.max(NEVER_CONNECTED_FACTOR * pool.releaseAfterSeconds, NEVER_CONNECTED_MIN_SECONDS);
  const quietSince = latest(connected ? presence.lastEndedAt : claimedAt, presence.watchingSince);
  const quietMs = now - quietSince;
  if (quietMs < graceS * 1000) return undefined;
  const why = connected
    ? `last console session ended ${formatDuration(quietMs)} ago (pool ${pool.name} releaseAfterSeconds ${pool.releaseAfterSeconds})`
    : `claimed ${formatDuration(quietMs)} ago and never connected to (grace ${graceS}s)`;
  return { kind: 'release', quietMs, message: `${why}: returned to pool ${pool.name} for reset` };
}

function decideIdle(i: ActivityInput): ActivityAction {
  const { idle, presence, desktop: d, now } = i;
  if (!idle) return { kind: 'none', why: 'no desktopIdleSeconds in its policy' };
  if (d.status?.phase !== 'Running') return { kind: 'none', why: `phase ${d.status?.phase ?? 'unset'}` };
  // Manual desktops are started and stopped by their users only; Halted ones are stopping already.
  if ((d.spec.runStrategy ?? 'Always') !== 'Always') return { kind: 'none', why: `runStrategy ${d.spec.runStrategy}` };
  if (!presence) return { kind: 'none', why: 'no gateway reports presence' };
  if (presence.open > 0) return { kind: 'none', why: `${presence.open} session(s) open` };
  const since = latest(
    presence.lastEndedAt,
    timeOf(d.status?.timings?.runningAt),
    timeOf(d.metadata.annotations?.[Annotations.ClaimedAt]),
    presence.watchingSince,
  );
  const idleMs = now - since;
  if (idleMs < idle.seconds * 1000) return { kind: 'none', why: `idle ${formatDuration(idleMs)} of ${idle.seconds}s` };
  const what = `no console session for ${formatDuration(idleMs)} (policy ${idle.policy}: desktopIdleSeconds ${idle.seconds})`;
  // Only a pool can reset a desktop; elsewhere a non-persistent desktop is reset by stopping it.
  if (d.spec.poolRef && d.spec.persistent === false) {
    return { kind: 'idle-recycle', idleMs, message: `${what}: returned to pool ${d.spec.poolRef.name} for reset` };
  }
  return { kind: 'idle-stop', idleMs, message: `${what}: stopped` };
}

/** The Idle condition each action writes (none for release). */
export function idleCondition(a: ActivityAction): { status: 'True' | 'False'; reason: string; message: string } | undefined {
  if (a.kind === 'idle-stop') return { status: 'True', reason: ConditionReason.IdleStopped, message: a.message };
  if (a.kind === 'idle-recycle') return { status: 'True', reason: ConditionReason.IdleRecycled, message: a.message };
  if (a.kind === 'mark-active') return { status: 'False', reason: ConditionReason.Active, message: a.message };
  return undefined;
}
