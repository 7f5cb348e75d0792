/**
 * Validation and defaulting without an apiserver, against the very schemas the CRDs are
 * generated from: TypeBox checks the OpenAPI part, the CEL twins (see schema/cel.ts) the
 * `x-kubernetes-validations` part. The embedded backend calls these on every write, so an
 * object it accepts is one kube-apiserver accepts too. Messages follow the apiserver's
 * wording ("Required value", "Unsupported value: ...") so both backends read alike.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { InvalidResourceError, UnknownKindError, type ValidationIssue } from './errors';
import { type CelRule, celCheck, isTransitionRule } from './schema/cel';
import { type KindDefinition } from './schema/define';
import { kindByName } from './kinds';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

type Node = TSchema & Record<string, unknown>;

/** `/spec/claimants/users/2` → `spec.claimants.users[2]`. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function describe(error: ValueError): string {
  const s = error.schema as Node;
  const got = JSON.stringify(error.value);
  const anyOf = s.anyOf as Node[] | undefined;
  if (error.type === ValueErrorType.ObjectRequiredProperty) return 'Required value';
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return 'field not declared in schema';
  if (s[Kind] === 'Union' && s['x-kubernetes-int-or-string'] === true) {
    return `Invalid value: ${got}: must be a quantity such as 2Gi, 512Mi or a whole number of bytes`;
  }
  if (s[Kind] === 'Union' && anyOf?.every((b) => b[Kind] === 'Literal')) {
    return `Unsupported value: ${got}: supported values: ${anyOf.map((b) => JSON.stringify(b.const)).join(', ')}`;
  }
  if (s[Kind] === 'Literal') return `Unsupported value: ${got}: supported values: ${JSON.stringify(s.const)}`;
  switch (error.type) {
    case ValueErrorType.StringPattern:
      return `Invalid value: ${got}: should match '${String(s.pattern)}'`;
    case ValueErrorType.StringFormat:
      return `Invalid value: ${got}: must be an RFC 3339 ${String(s.format)}`;
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `Invalid value: ${got}: should be greater than or equal to ${String(s.minimum)}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `Invalid value: ${got}: should be less than or equal to ${String(s.maximum)}`;
    case ValueErrorType.StringMaxLength:
      return `Too long: may not be more than ${String(s.maxLength)} bytes`;
    case ValueErrorType.ArrayMaxItems:
      return `Too many: must have at most ${String(s.maxItems)} items`;
    default:
      return `Invalid value: ${got}: ${error.message.replace(/^Expected/, 'expected')}`;
  }
}

/** The apiserver's wording for a failed rule: `Invalid value: "object": <message>`. */
function celMessage(rule: CelRule, value: unknown): string {
  if (rule.reason === 'FieldValueRequired') return `Required value: ${rule.message}`;
  if (rule.reason === 'FieldValueForbidden') return `Forbidden: ${rule.message}`;
  if (rule.reason === 'FieldValueDuplicate') return `Duplicate value: ${rule.message}`;
  const type = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  return `Invalid value: "${type}": ${rule.message}`;
}

/** Runs the CEL twins of every rule on the path through `value` (and `old`, for transition rules). */
function checkCel(schema: Node, value: unknown, old: unknown, path: string, issues: ValidationIssue[]): void {
  if (value === undefined) return;
  for (const rule of (schema['x-kubernetes-validations'] as CelRule[] | undefined) ?? []) {
    const check = celCheck(rule.rule);
    if (!check) throw new Error(`CEL rule ${JSON.stringify(rule.rule)} at ${path || '<root>'} has no local check (declare it with cel())`);
    if (isTransitionRule(rule.rule) && old === undefined) continue;
    if (!check(value, old)) {
      const at = rule.fieldPath ? `${path}${rule.fieldPath}`.replace(/^\./, '') : path;
      issues.push({ path: at, message: celMessage(rule, value) });
    }
  }
  const kind = schema[Kind];
  if (kind === 'Object' && typeof value === 'object' && value !== null) {
    const props = (schema.properties ?? {}) as Record<string, Node>;
    for (const [key, child] of Object.entries(props)) {
      const v = (value as Record<string, unknown>)[key];
      const o = typeof old === 'object' && old !== null ? (old as Record<string, unknown>)[key] : undefined;
      checkCel(child, v, o, path ? `${path}.${key}` : key, issues);
    }
  } else if (kind === 'Record' && typeof value === 'object' && value !== null) {
    const child = Object.values(schema.patternProperties as Record<string, Node>)[0]!;
    for (const [key, v] of Object.entries(value)) {
      const o = typeof old === 'object' && old !== null ? (old as Record<string, unknown>)[key] : undefined;
      checkCel(child, v, o, `${path}.${key}`, issues);
    }
  } else if (kind === 'Array' && Array.isArray(value)) {
    // No list in Deskplane kinds carries transition rules, so items are not correlated with old items.
    value.forEach((v, i) => checkCel(schema.items as Node, v, undefined, `${path}[${i}]`, issues));
  }
}

/** Issues of `obj` against one kind; `old` is the stored object on update (for transition rules). */
export function issuesFor(def: KindDefinition, obj: unknown, old?: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of Value.Errors(def.schema, obj)) issues.push({ path: fieldPath(error.path), message: describe(error) });
  // CEL rules only see schema-valid data, as on the apiserver.
  if (issues.length === 0) checkCel(def.schema, obj, old, '', issues);
  return issues;
}

/**
 * Validates `obj` as the kind its `kind` field names. `old` (the stored object) enables
 * the transition rules (`oldSelf`), such as DesktopMigration's immutable spec.
 * Validate after `applyDefaults`, as the apiserver does.
 */
export function validate(obj: unknown, old?: unknown): ValidationResult<unknown> {
  const def = kindByName((obj as { kind?: unknown } | null)?.kind as string);
  if (!def) return { ok: false, issues: [{ path: 'kind', message: `Unsupported value: ${JSON.stringify((obj as { kind?: unknown } | null)?.kind)}` }] };
  return validateAs(def, obj, old);
}

/** Validates `obj` against one kind (whatever its `kind` field says). */
export function validateAs<T>(def: KindDefinition, obj: unknown, old?: unknown): ValidationResult<T> {
  const issues = issuesFor(def, obj, old);
  return issues.length === 0 ? { ok: true, value: obj as T } : { ok: false, issues };
}

/** Like `validate`, but throws InvalidResourceError. */
export function assertValid(obj: unknown, old?: unknown): void {
  const result = validate(obj, old);
  if (!result.ok) {
    const o = obj as { kind?: unknown; metadata?: { name?: string } } | null;
    throw new InvalidResourceError(String(o?.kind), o?.metadata?.name, result.issues);
  }
}

/**
 * Returns a copy of `obj` with the schema defaults filled in, the way the apiserver does
 * on create and update: a default applies where its parent object exists.
 */
export function applyDefaults<T>(obj: T): T {
  const def = kindByName((obj as { kind?: unknown } | null)?.kind as string);
  if (!def) throw new UnknownKindError((obj as { kind?: unknown } | null)?.kind);
  return Value.Default(def.schema, structuredClone(obj)) as T;
}
