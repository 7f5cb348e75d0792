/**
 * Which pool keys a change wakes. A pool reconcile lists its namespace from the store,
 * so only changes that can alter its decision or counts wake it: not every status write
 * the desktop loop makes.
 */
import { Annotations } from '@deskplane/api';
import { sameJson } from '../shared/status';
import type { DesktopObject, PoolObject, TemplateObject } from '../../resources';
import { poolOf } from './decide';

/** What about a desktop the pool reads. */
function poolView(d: DesktopObject): unknown {
  return {
    pool: poolOf(d),
    owner: d.spec.owner,
    runStrategy: d.spec.runStrategy,
    template: d.spec.templateRef.name,
    phase: d.status?.phase,
    console: d.status?.console?.ready,
    recycle: d.metadata.annotations?.[Annotations.Recycle],
    deleting: d.metadata.deletionTimestamp,
  };
}

const keyOfPool = (d: DesktopObject): string | undefined => {
  const pool = poolOf(d);
  return pool ? `${d.metadata.namespace}/${pool}` : undefined;
};

/** Pool keys to enqueue for a desktop added (old undefined), updated or deleted (next undefined). */
export function poolKeysForDesktop(old: DesktopObject | undefined, next: DesktopObject | undefined): string[] {
  const resync = old && next && old.metadata.resourceVersion === next.metadata.resourceVersion;
  if (old && next && !resync && sameJson(poolView(old), poolView(next))) return [];
  return [...new Set([old, next].map((d) => (d ? keyOfPool(d) : undefined)).filter((k): k is string => k !== undefined))];
}

/** A pool's own status writes do not wake it; spec, deletion, finalizers and resyncs do. */
export function poolChangeMatters(old: PoolObject, next: PoolObject): boolean {
  return (
    old.metadata.resourceVersion === next.metadata.resourceVersion ||
    old.metadata.generation !== next.metadata.generation ||
    old.metadata.deletionTimestamp !== next.metadata.deletionTimestamp ||
    !sameJson(old.metadata.finalizers, next.metadata.finalizers)
  );
}

/** The pools made from a template (its size decides the quota check; its absence stops creates). */
export function poolsOfTemplate(pools: readonly PoolObject[], t: TemplateObject): string[] {
  return pools.filter((p) => p.metadata.namespace === t.metadata.namespace && p.spec.templateRef.name === t.metadata.name).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}
