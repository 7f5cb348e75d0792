/**
 * Pure: what a DesktopPool needs now. Given the pool, its desktops, the pool template's
 * size, the tenant quota and usage, and the clock: which desktops to delete (recycled
 * ones, then scale-in), which unclaimed desktops to start or stop so the warm count is
 * met, how many to create (warm first) within the quota, and the status, conditions and
 * Events that say so. The reconciler applies it; nothing here does I/O.
 */
import { Annotations, ConditionReason, ConditionType, Labels, type ConditionInput, type DesktopPoolStatus, type StatusPatch, type TenantQuota } from '@deskplane/api';
import type { DesktopObject, PoolObject } from '../../resources';
import type { EventIntent } from '../virtual-desktop/decide';
import { plus, quotaBlock, type Size, type Usage } from './quota';
import { effectiveWarm, type EffectiveWarm } from './schedule';


export const PoolReason = {
  PoolReady: ConditionReason.PoolReady,
  Filling: ConditionReason.Filling,
  ScalingIn: 'ScalingIn',
  ClaimedAboveSize: 'ClaimedAboveSize',
  Exhausted: 'Exhausted',
  Scaling: 'Scaling',
  Settled: 'Settled',
  QuotaExceeded: 'QuotaExceeded',
  TemplateNotFound: ConditionReason.TemplateNotFound,
  InvalidTimeZone: 'InvalidTimeZone',
  AsExpected: 'AsExpected',
} as const;

export const PoolEvent = {
  DesktopCreated: 'DesktopCreated',
  DesktopRecycled: 'DesktopRecycled',
  ScaledIn: 'ScaledIn',
  QuotaExceeded: 'QuotaExceeded',
  TemplateNotFound: 'TemplateNotFound',
  WarmChanged: 'WarmChanged',
} as const;

/** Schedule requeues are capped so that a wrong guess about a zone heals within the hour. */
export const MAX_SCHEDULE_REQUEUE_MS = 3_600_000;

export type DesktopState = 'ready' | 'claimed' | 'starting' | 'resetting' | 'cold';
export type PoolCounts = Record<DesktopState, number> & { desktops: number };
export type RunStrategyTarget = 'Always' | 'Halted';

/** The pool a desktop belongs to: poolRef (immutable), else the label. */
export function poolOf(d: Pick<DesktopObject, 'metadata' | 'spec'>): string | undefined {
  return d.spec.poolRef?.name ?? d.metadata.labels?.[Labels.Pool];
}

export const isDeleting = (d: Pick<DesktopObject, 'metadata'>): boolean => d.metadata.deletionTimestamp !== undefined;
export const isRecycled = (d: Pick<DesktopObject, 'metadata'>): boolean => d.metadata.annotations?.[Annotations.Recycle] !== undefined;
const wantsRun = (d: DesktopObject): boolean => (d.spec.runStrategy ?? 'Always') === 'Always';

/**
 * ready: unclaimed, Running with console ready; starting: unclaimed and should run, not
 * ready yet (Running without a console counts here too); cold: unclaimed, not to run;
 * claimed: has an owner; resetting: recycled or being deleted.
 */
export function stateOf(d: DesktopObject): DesktopState {
  if (isDeleting(d) || isRecycled(d)) return 'resetting';
  if (d.spec.owner) return 'claimed';
  if (!wantsRun(d)) return 'cold';
  return d.status?.phase === 'Running' && d.status.console?.ready ? 'ready' : 'starting';
}

export function countStates(desktops: readonly DesktopObject[]): PoolCounts {
  const c: PoolCounts = { desktops: 0, ready: 0, claimed: 0, starting: 0, resetting: 0, cold: 0 };
  for (const d of desktops) {
    const s = stateOf(d);
    c[s] += 1;
    if (s !== 'resetting') c.desktops += 1;
  }
  return c;
}

/** How far a desktop has come: the less, the cheaper it is to give up. */
function progress(d: DesktopObject): number {
  const p = d.status?.phase;
  if (p === 'Failed') return -1;
  if (p === 'Running') return d.status?.console?.ready ? 4 : 3;
  if (p === 'Stopped' || p === 'Stopping' || p === 'Starting' || p === 'Migrating') return 2;
  if (p === 'Provisioning') return 1;
  return 0;
}

const created = (d: DesktopObject): string => d.metadata.creationTimestamp ?? '';
const byAge = (a: DesktopObject, b: DesktopObject): number => created(a).localeCompare(created(b)) || a.metadata.name.localeCompare(b.metadata.name);
/** Least invested first; among equals the newest. */
const cheapestFirst = (a: DesktopObject, b: DesktopObject): number => progress(a) - progress(b) || byAge(b, a);
/** Furthest along first; among equals the oldest. */
const readiestFirst = (a: DesktopObject, b: DesktopObject): number => progress(b) - progress(a) || byAge(a, b);

export interface PoolInput {
  pool: Pick<PoolObject, 'metadata' | 'spec' | 'status'>;
  /** The pool's desktops (poolOf(d) === pool name, same namespace). */
  desktops: readonly DesktopObject[];
  /** The pool template's size; undefined when the template does not exist. */
  template?: Size;
  /** The Tenant's quota; undefined: no limits. */
  quota?: TenantQuota;
  /** What the namespace uses now, counted as quota.ts does. */
  usage: Usage;
  /** Size by template name, to give back what deleted desktops used. */
  sizeOfTemplate: (name: string) => Size | undefined;
  now: Date;
}

export interface PoolDelete {
  name: string;
  why: 'recycle' | 'scale-in';
  /** The recycle annotation's value (`logout`, `idle`) or `scale-in`. */
  detail: string;
}

export interface PoolDecision {
  warm: EffectiveWarm;
  counts: PoolCounts;
  deletes: PoolDelete[];
  flips: Array<{ name: string; to: RunStrategyTarget }>;
  creates: RunStrategyTarget[];
  /** Desktops missing that were not created, and why. */
  notCreated: number;
  block?: { reason: typeof PoolReason.QuotaExceeded | typeof PoolReason.TemplateNotFound; message: string };
  patch: StatusPatch<DesktopPoolStatus>;
  /** Events besides DesktopCreated (the reconciler names the new desktops). */
  events: EventIntent[];
  /** Until the warm schedule may change the answer. */
  requeueAfterMs?: number;
}

export function decidePool(input: PoolInput): PoolDecision {
  const { pool, desktops, now } = input;
  const size = pool.spec.size;
  const warm = effectiveWarm(pool.spec, now);
  const W = warm.warm;
  const counts = countStates(desktops);

  const recycles: PoolDelete[] = desktops
    .filter((d) => !isDeleting(d) && isRecycled(d))
    .map((d) => ({ name: d.metadata.name, why: 'recycle', detail: d.metadata.annotations![Annotations.Recycle]! }));
  const live = desktops.filter((d) => stateOf(d) !== 'resetting');
  const unclaimed = live.filter((d) => !d.spec.owner);
  // Scale-in never touches a claimed desktop: cold ones go first, the least invested of each kind.
  const excess = Math.max(0, live.length - size);
  const scaleIn = [...unclaimed.filter((d) => !wantsRun(d)).sort(cheapestFirst), ...unclaimed.filter(wantsRun).sort(cheapestFirst)].slice(0, excess);
  const leaving = new Set(scaleIn.map((d) => d.metadata.name));
  const staying = unclaimed.filter((d) => !leaving.has(d.metadata.name));

  const warmNow = staying.filter(wantsRun);
  const flips: PoolDecision['flips'] = [];
  let warmDeficit = 0;
  if (warmNow.length < W) {
    const starters = staying.filter((d) => !wantsRun(d)).sort(readiestFirst).slice(0, W - warmNow.length);
    for (const d of starters) flips.push({ name: d.metadata.name, to: 'Always' });
    warmDeficit = W - warmNow.length - starters.length;
  } else if (warmNow.length > W) {
    for (const d of [...warmNow].sort(cheapestFirst).slice(0, warmNow.length - W)) flips.push({ name: d.metadata.name, to: 'Halted' });
  }

  const deletes: PoolDelete[] = [...recycles, ...scaleIn.map((d): PoolDelete => ({ name: d.metadata.name, why: 'scale-in', detail: 'scale-in' }))];
  const need = Math.max(0, size - (live.length - scaleIn.length));
  const creates: RunStrategyTarget[] = [];
  let block: PoolDecision['block'];
  if (need > 0 && !input.template) {
    block = { reason: PoolReason.TemplateNotFound, message: `DesktopTemplate "${pool.spec.templateRef.name}" not found; ${need} pool desktop(s) not created` };
  } else if (need > 0 && input.template) {
    // What this pass deletes stops counting at once (deleted desktops carry a deletionTimestamp).
    let used = input.usage;
    for (const name of deletes.map((x) => x.name)) {
      const d = desktops.find((o) => o.metadata.name === name)!;
      used = plus(used, input.sizeOfTemplate(d.spec.templateRef.name) ?? { vcpus: 0, memory: 0 }, -1);
    }
    for (let i = 0; i < need; i++) {
      const over = quotaBlock(input.quota, used, input.template);
      if (over) {
        block = { reason: PoolReason.QuotaExceeded, message: `${over.message}; ${need - i} pool desktop(s) not created` };
        break;
      }
      used = plus(used, input.template);
      creates.push(i < warmDeficit ? 'Always' : 'Halted');
    }
  }
  const notCreated = need - creates.length;

  const gen = pool.metadata.generation !== undefined ? { observedGeneration: pool.metadata.generation } : {};
  const conditions: ConditionInput[] = [
    { type: ConditionType.Ready, ...readiness(counts, size, W), ...gen },
    { type: ConditionType.Progressing, ...progressing(counts, deletes.length, flips, creates), ...gen },
    { type: ConditionType.Degraded, ...degraded(block, warm), ...gen },
  ];
  const { cold: _cold, ...shown } = counts;
  const patch: StatusPatch<DesktopPoolStatus> = { set: { ...shown, warm: W, ...gen }, conditions };

  const events: EventIntent[] = [];
  const previousWarm = pool.status?.warm;
  if (previousWarm !== undefined && previousWarm !== W) {
    events.push({ type: 'Normal', reason: PoolEvent.WarmChanged, message: `warm ${previousWarm} → ${W} (${warm.source})` });
  }
  for (const r of recycles) {
    events.push({ type: 'Normal', reason: PoolEvent.DesktopRecycled, message: `deleting ${r.name} to reset it (${r.detail}); a fresh desktop replaces it` });
  }
  if (scaleIn.length) {
    events.push({ type: 'Normal', reason: PoolEvent.ScaledIn, message: `size ${size}: removing ${scaleIn.length} unclaimed desktop(s): ${[...leaving].join(', ')}` });
  }
  const before = pool.status?.conditions?.find((c) => c.type === ConditionType.Degraded);
  if (block && !(before?.status === 'True' && before.reason === block.reason && before.message === block.message)) {
    events.push({ type: 'Warning', reason: block.reason === PoolReason.QuotaExceeded ? PoolEvent.QuotaExceeded : PoolEvent.TemplateNotFound, message: block.message });
  }

  const requeueAfterMs = warm.nextChangeAt ? Math.min(MAX_SCHEDULE_REQUEUE_MS, Math.max(0, warm.nextChangeAt.getTime() - now.getTime()) + 500) : undefined;
  return { warm, counts, deletes, flips, creates, notCreated, ...(block ? { block } : {}), patch, events, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

type ConditionBody = Pick<ConditionInput, 'status' | 'reason' | 'message'>;

function readiness(c: PoolCounts, size: number, W: number): ConditionBody {
  const ready = `${c.ready}/${W} warm desktops ready`;
  if (c.claimed > size) {
    return { status: 'False', reason: PoolReason.ClaimedAboveSize, message: `${c.claimed} desktops are claimed, more than size ${size}; the pool never removes a claimed desktop` };
  }
  if (c.desktops > size) return { status: 'False', reason: PoolReason.ScalingIn, message: `${c.desktops} desktops for size ${size}; ${ready}` };
  if (c.desktops < size) return { status: 'False', reason: PoolReason.Filling, message: `${c.desktops}/${size} desktops; ${ready}` };
  if (c.ready < W) {
    if (size - c.claimed < W) return { status: 'False', reason: PoolReason.Exhausted, message: `${c.claimed} of ${size} desktops are claimed: warm ${W} cannot be met; ${ready}` };
    return { status: 'False', reason: PoolReason.Filling, message: `${ready}, ${c.starting} starting` };
  }
  return { status: 'True', reason: PoolReason.PoolReady, message: `${ready}, ${c.desktops}/${size} desktops (${c.claimed} claimed)` };
}

function progressing(c: PoolCounts, deletes: number, flips: PoolDecision['flips'], creates: RunStrategyTarget[]): ConditionBody {
  const parts: string[] = [];
  if (creates.length) parts.push(`creating ${creates.length} (${creates.filter((r) => r === 'Always').length} warm)`);
  if (deletes) parts.push(`deleting ${deletes}`);
  const starts = flips.filter((f) => f.to === 'Always').length;
  if (starts) parts.push(`starting ${starts} more`);
  if (flips.length - starts) parts.push(`stopping ${flips.length - starts}`);
  if (c.starting) parts.push(`${c.starting} on the way to ready`);
  if (c.resetting) parts.push(`${c.resetting} being reset or removed`);
  return parts.length ? { status: 'True', reason: PoolReason.Scaling, message: parts.join(', ') } : { status: 'False', reason: PoolReason.Settled, message: '' };
}

function degraded(block: PoolDecision['block'], warm: EffectiveWarm): ConditionBody {
  const zone = warm.invalidTimeZone !== undefined ? `timeZone "${warm.invalidTimeZone}" is not a known IANA time zone: warmSchedule ignored, warm ${warm.warm} from spec.warm` : undefined;
  if (block) return { status: 'True', reason: block.reason, message: zone ? `${block.message}; ${zone}` : block.message };
  if (zone) return { status: 'True', reason: PoolReason.InvalidTimeZone, message: zone };
  return { status: 'False', reason: PoolReason.AsExpected, message: '' };
}

/**
 * Pool deletion: delete the unclaimed desktops (and any already marked for recycling);
 * claimed ones stay with their users, still carrying poolRef (it is immutable).
 */
export function decideCleanup(desktops: readonly DesktopObject[]): { deletes: string[]; kept: string[] } {
  const open = desktops.filter((d) => !isDeleting(d));
  return {
    deletes: open.filter((d) => !d.spec.owner || isRecycled(d)).map((d) => d.metadata.name),
    kept: open.filter((d) => d.spec.owner && !isRecycled(d)).map((d) => d.metadata.name),
  };
}
