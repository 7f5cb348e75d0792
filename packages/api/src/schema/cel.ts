/**
 * CEL validation rules (`x-kubernetes-validations`) with their local twins.
 *
 * The apiserver evaluates the CEL text; the embedded backend has no CEL engine, so every
 * rule is declared together with a TypeScript predicate that means the same thing. The
 * twin is registered under the rule text (the same CEL text always means the same thing),
 * which survives any cloning of the schema, and `validate*` looks it up from there.
 * A unit test fails when a rule in any kind has no twin, and the smoke test feeds the same
 * objects to the real apiserver and to the local check.
 */

/** One `x-kubernetes-validations` entry, exactly as it is written into the CRD. */
export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath-ish path (relative to the node) that the error is reported on, e.g. `.warm`. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The local twin of a CEL rule: `self` and, for transition rules, `oldSelf`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CelCheck = (self: any, oldSelf: any) => boolean;

const checks = new Map<string, CelCheck>();

/** True when the rule compares against the stored object (evaluated on update only). */
export function isTransitionRule(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}

/**
 * Declares a CEL rule and its TypeScript twin.
 *
 * @example
 * cel('!has(self.warm) || self.warm <= self.size', 'warm must not exceed size',
 *     (s: { warm?: number; size: number }) => s.warm === undefined || s.warm <= s.size, { fieldPath: '.warm' })
 */
export function cel(rule: string, message: string, check: CelCheck, extra: Pick<CelRule, 'fieldPath' | 'reason'> = {}): CelRule {
  const known = checks.get(rule);
  if (known && known !== check) {
    throw new Error(`CEL rule ${JSON.stringify(rule)} is declared twice with different local checks`);
  }
  checks.set(rule, check);
  return { rule, message, ...extra };
}

/** The local twin of a rule, or undefined when the rule was not declared through `cel()`. */
export function celCheck(rule: string): CelCheck | undefined {
  return checks.get(rule);
}

/** `self == oldSelf`: the field cannot change once set. */
export function immutable(message: string): CelRule {
  return cel('self == oldSelf', message, sameAsOld);
}

const sameAsOld: CelCheck = (self: unknown, oldSelf: unknown) => deepEqual(self, oldSelf);

/** Structural equality of JSON values, the way CEL compares maps, lists and scalars. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
