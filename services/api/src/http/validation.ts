import { FormatRegistry, Kind, type TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { BadRequest } from '../domain/errors';

/**
 * Request validation against a route's TypeBox schemas. The first problem becomes a 400
 * whose message starts with the field path (`spec.vcpus: must be ≥ 1`) and whose `field`
 * is that path, so clients can point at the input; nothing of the route runs.
 */

// TypeBox refuses strings whose format it does not know; these are the formats route
// schemas may use. Registered only when absent, as @deskplane/api registers date-time too.
const FORMATS: Record<string, (v: string) => boolean> = {
  'date-time': (v) => /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)),
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  uri: (v) => URL.canParse(v),
  email: (v) => /^[^\s@]+@[^\s@]+$/.test(v),
};
for (const [name, check] of Object.entries(FORMATS)) if (!FormatRegistry.Has(name)) FormatRegistry.Set(name, check);

type Node = TSchema & Record<string, unknown>;

/** `/spec/disks/2/size` → `spec.disks[2].size`. */
export function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** The problem in words a client can act on, without the field (that goes in front). */
export function describeError(error: ValueError): string {
  const s = error.schema as Node;
  const anyOf = s.anyOf as Node[] | undefined;
  if (s[Kind] === 'Union' && anyOf?.every((b) => b[Kind] === 'Literal')) return `must be one of ${anyOf.map((b) => JSON.stringify(b.const)).join(', ')}`;
  if (s[Kind] === 'Literal') return `must be ${JSON.stringify(s.const)}`;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a known field';
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be ≥ ${String(s.minimum)}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be ≤ ${String(s.maximum)}`;
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return `must be > ${String(s.exclusiveMinimum)}`;
    case ValueErrorType.IntegerExclusiveMaximum:
    case ValueErrorType.NumberExclusiveMaximum:
      return `must be < ${String(s.exclusiveMaximum)}`;
    case ValueErrorType.IntegerMultipleOf:
    case ValueErrorType.NumberMultipleOf:
      return `must be a multiple of ${String(s.multipleOf)}`;
    case ValueErrorType.Integer:
      return 'must be a whole number';
    case ValueErrorType.Number:
      return 'must be a number';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Object:
      return 'must be an object';
    case ValueErrorType.Array:
      return 'must be an array';
    case ValueErrorType.Null:
      return 'must be null';
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${String(s.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s.maxLength)} characters`;
    case ValueErrorType.StringPattern:
      return `must match ${String(s.pattern)}`;
    case ValueErrorType.StringFormat:
      return `must be a valid ${String(s.format)}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(s.minItems)} items`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s.maxItems)} items`;
    case ValueErrorType.ArrayUniqueItems:
      return 'must not contain duplicates';
    case ValueErrorType.Never:
      return 'is not allowed';
    case ValueErrorType.Union:
      return 'does not match any of the allowed forms';
    default:
      return error.message.charAt(0).toLowerCase() + error.message.slice(1);
  }
}

export type RequestPart = 'params' | 'query' | 'body';

/**
 * The validated (defaulted, and for params and query type-converted) value of one part of
 * the request, or a BadRequest. Path and query values arrive as strings, so `?limit=5`
 * becomes 5 for an integer schema; a JSON body is taken as sent (`"vcpus": "2"` is refused).
 */
export function validatePart(part: RequestPart, schema: TSchema, raw: unknown): unknown {
  let value: unknown = raw === undefined || raw === null ? (part === 'body' ? raw : {}) : structuredClone(raw);
  value = Value.Default(schema, value);
  if (part !== 'body') value = Value.Convert(schema, value);
  const first = Value.Errors(schema, value).First();
  if (!first) return value;
  const field = fieldPath(first.path) || part;
  throw new BadRequest(`${field}: ${describeError(first)}`, field);
}

/** The first mismatch of a response body against its schema, as `field: problem`, or undefined. */
export function responseMismatch(schema: TSchema, body: unknown): string | undefined {
  const first = Value.Errors(schema, body).First();
  return first ? `${fieldPath(first.path) || 'body'}: ${describeError(first)}` : undefined;
}
