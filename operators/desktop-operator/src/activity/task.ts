/**
 * The `activity` periodic task: each pass reads presence for every claimed desktop in one
 * Redis round trip, decides per desktop (decide.ts) and writes what was decided:
 * floating pool desktops released after logout, idle desktops stopped or recycled, the
 * Idle condition cleared when a stopped one runs again. Every write re-checks the fresh
 * object (same uid, same owner, not being deleted, not already recycled) so a claim, a
 * delete or a user's start that raced the pass wins over it.
 */
import { ConditionType } from '@deskplane/api';
import { retryOnConflict, type KubeObject, type ResourceClient } from '@deskplane/resource-store';
import { writeStatus } from '../controllers/shared/status';
import { RESOURCE_TYPES, keyOf, type DesktopObject } from '../resources';
import type { OperatorView, PeriodicTask } from '../runtime/periodic';
import { Annotations, RecycleReason, decideActivity, idleCondition, poolFacts, type ActivityAction, type DesktopPresence } from './decide';
import { resolveIdleRule } from './policy';
import type { PresenceSnapshot, PresenceSource } from './presence';

export interface ActivityTaskOptions {
  presence: PresenceSource;
  /** config.activityIntervalMs */
  intervalMs: number;
}

/** What one pass did, for logs and tests. */
export interface ActivityPassResult {
  /** False when no gateway reports presence (or Redis could not be read): nothing was released or stopped. */
  presence: boolean;
  released: string[];
  stopped: string[];
  recycled: string[];
  active: string[];
}

export const EventReason = { Released: 'Released', IdleStopped: 'IdleStopped', IdleRecycled: 'IdleRecycled' } as const;

export function createActivityTask(opts: ActivityTaskOptions): PeriodicTask {
  return {
    name: 'activity',
    intervalMs: opts.intervalMs,
    run: async (view, signal) => {
      const r = await runActivityPass(view, opts.presence, signal);
      const acted = r.released.length + r.stopped.length + r.recycled.length + r.active.length;
      if (acted > 0) view.log.info({ task: 'activity', ...r }, 'activity pass acted');
    },
  };
}

export async function runActivityPass(view: OperatorView, source: PresenceSource, signal?: AbortSignal): Promise<ActivityPassResult> {
  const now = view.now();
  const nowMs = now.getTime();
  const desktops = view.desktops.list().filter((d) => d.spec.owner !== undefined && !d.metadata.deletionTimestamp);
  const snapshot = await readPresence(view, source, desktops.map(keyOf), nowMs);
  const result: ActivityPassResult = { presence: snapshot?.watchingSince !== undefined, released: [], stopped: [], recycled: [], active: [] };
  const policies = view.policies.list();
  const client = view.store.client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop);

  for (const d of desktops) {
    if (signal?.aborted) break;
    const ns = d.metadata.namespace;
    const poolRef = d.spec.poolRef?.name;
    const pool = poolRef === undefined ? undefined : view.pools.get(poolRef, ns);
    const template = view.templates.get(d.spec.templateRef.name, ns);
    const action = decideActivity({
      desktop: d,
      ...(pool && { pool: poolFacts(pool.metadata.name, pool.spec) }),
      ...withIdle(resolveIdleRule(d, template, policies)),
      ...withPresence(snapshot, keyOf(d)),
      now: nowMs,
    });
    if (action.kind === 'none') continue;
    try {
      const done = await apply(view, client, d, action, now);
      if (done) result[bucket(action)].push(keyOf(d));
    } catch (err) {
      view.log.warn({ task: 'activity', desktop: keyOf(d), action: action.kind, err: err instanceof Error ? err.message : String(err) }, 'activity action failed');
    }
  }
  return result;
}

const withIdle = <T>(idle: T | undefined): { idle?: T } => (idle === undefined ? {} : { idle });

function withPresence(s: PresenceSnapshot | undefined, key: string): { presence?: DesktopPresence } {
  if (s?.watchingSince === undefined) return {};
  const p = s.desktops.get(key) ?? { open: 0 };
  return { presence: { watchingSince: s.watchingSince, open: p.open, ...(p.lastEndedAt !== undefined && { lastEndedAt: p.lastEndedAt }) } };
}

/** Presence, or undefined when Redis cannot be read: then only the Idle condition is tidied. */
async function readPresence(view: OperatorView, source: PresenceSource, keys: string[], nowMs: number): Promise<PresenceSnapshot | undefined> {
  if (keys.length === 0) return undefined;
  try {
    return await source.read(keys, nowMs);
  } catch (err) {
    view.log.warn({ task: 'activity', err: err instanceof Error ? err.message : String(err) }, 'presence unreadable: nothing is released or stopped this pass');
    return undefined;
  }
}

function bucket(a: Exclude<ActivityAction, { kind: 'none' }>): keyof Omit<ActivityPassResult, 'presence'> {
  return a.kind === 'release' ? 'released' : a.kind === 'idle-stop' ? 'stopped' : a.kind === 'idle-recycle' ? 'recycled' : 'active';
}

/** The fresh object is still the one decided about: same uid and owner, not deleted, not recycled. */
function unchanged(cur: DesktopObject, seen: DesktopObject): boolean {
  return (
    cur.metadata.uid === seen.metadata.uid &&
    cur.spec.owner === seen.spec.owner &&
    !cur.metadata.deletionTimestamp &&
    cur.metadata.annotations?.[Annotations.Recycle] === undefined
  );
}

/** One spec/metadata write through retryOnConflict; true when this call wrote it. */
async function guardedUpdate<T extends KubeObject>(client: ResourceClient<T>, obj: T, change: (cur: T) => T | undefined): Promise<boolean> {
  let wrote = false;
  await retryOnConflict(client, obj.metadata.name, obj.metadata.namespace, (cur) => {
    const next = change(cur);
    wrote = next !== undefined;
    return next;
  });
  return wrote;
}

async function apply(view: OperatorView, client: ResourceClient<DesktopObject>, d: DesktopObject, a: Exclude<ActivityAction, { kind: 'none' }>, now: Date): Promise<boolean> {
  const cond = idleCondition(a);
  if (a.kind === 'mark-active') {
    return (await writeStatus(client, d, { conditions: [{ type: ConditionType.Idle, ...cond! }] }, now)) !== undefined;
  }
  const annotate = (reason: string) => (cur: DesktopObject): DesktopObject | undefined =>
    unchanged(cur, d) ? { ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, [Annotations.Recycle]: reason } } } : undefined;
  if (a.kind === 'release') {
    if (!(await guardedUpdate(client, d, annotate(RecycleReason.Logout)))) return false;
    await view.events.normal(d, EventReason.Released, a.message);
    return true;
  }
  // The condition goes first: if the spec write then fails, the next pass finds the desktop
  // still running and idle and repeats both; the reverse order could leave a stopped desktop
  // without its reason.
  await writeStatus(client, d, { conditions: [{ type: ConditionType.Idle, ...cond! }] }, now);
  const wrote =
    a.kind === 'idle-stop'
      ? await guardedUpdate(client, d, (cur): DesktopObject | undefined =>
          unchanged(cur, d) && (cur.spec.runStrategy ?? 'Always') === 'Always' ? { ...cur, spec: { ...cur.spec, runStrategy: 'Halted' } } : undefined,
        )
      : await guardedUpdate(client, d, annotate(RecycleReason.Idle));
  if (!wrote) return false;
  await view.events.normal(d, a.kind === 'idle-stop' ? EventReason.IdleStopped : EventReason.IdleRecycled, a.message);
  return true;
}
