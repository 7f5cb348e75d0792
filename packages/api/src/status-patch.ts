import { setCondition, type Condition, type ConditionInput } from './conditions';

/**
 * The status fields one writer owns: set these, remove those, set these conditions. The
 * operator and the orchestrator each own different fields of the same status, so they
 * write patches, never whole statuses.
 */
export interface StatusPatch<S> {
  set?: Partial<S>;
  unset?: ReadonlyArray<keyof S>;
  conditions?: readonly ConditionInput[];
}

/** Pure: the status after the patch. Conditions go through setCondition, so transition times stay right. */
export function applyStatusPatch<S extends object>(status: S | undefined, patch: StatusPatch<S>, now: Date): S {
  const next = { ...(status ?? {}), ...(patch.set ?? {}) } as S & { conditions?: Condition[] };
  for (const k of patch.unset ?? []) delete (next as Record<string, unknown>)[k as string];
  if (patch.conditions?.length) {
    let conditions = next.conditions;
    for (const c of patch.conditions) conditions = setCondition(conditions, c, now);
    next.conditions = conditions;
  }
  return next;
}
