/**
 * TypeBox schema → Kubernetes structural schema (apiextensions.k8s.io/v1 JSONSchemaProps).
 *
 * Structural means: every node says its type, no `$ref`, no type inside `anyOf`/`allOf`,
 * no `additionalProperties` beside `properties`. The walk is strict: a keyword it does not
 * know how to carry over is an error naming the schema path, never silently dropped, so a
 * TypeBox feature that Kubernetes cannot express cannot sneak in.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { SchemaConversionError } from '../errors';
import { type CelRule } from './cel';

/** The subset of JSONSchemaProps that Deskplane CRDs use. */
export interface JSONSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-embedded-resource'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: CelRule[];
}

/** Keywords allowed on every node, copied in this order after the type-specific ones. */
const COMMON = ['description', 'type', 'format', 'enum', 'default', 'nullable'] as const;
const EXTENSIONS = [
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
] as const;
const BY_TYPE: Record<string, readonly string[]> = {
  String: ['pattern', 'minLength', 'maxLength'],
  Integer: ['minimum', 'maximum', 'multipleOf'],
  Number: ['minimum', 'maximum', 'multipleOf'],
  Boolean: [],
  Array: ['minItems', 'maxItems'],
  Object: ['minProperties', 'maxProperties'],
  Record: ['minProperties', 'maxProperties'],
  Unknown: [],
};
/** Keywords that TypeBox writes itself and that the walk consumes structurally. */
const STRUCTURE = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'patternProperties', 'anyOf', 'const', 'x-kubernetes-validations', 'x-kubernetes-int-or-string']);

type Node = TSchema & Record<string, unknown>;

function copyKeywords(schema: Node, kind: string, path: string, out: JSONSchemaProps): void {
  const allowed = new Set<string>([...COMMON, ...EXTENSIONS, ...(BY_TYPE[kind] ?? [])]);
  for (const key of Object.keys(schema)) {
    if (!allowed.has(key) && !STRUCTURE.has(key)) {
      throw new SchemaConversionError(path, `keyword "${key}" is not supported on a ${kind} node in a structural schema`);
    }
  }
  for (const key of [...COMMON, ...(BY_TYPE[kind] ?? []), ...EXTENSIONS]) {
    if (key === 'type' || schema[key] === undefined) continue;
    (out as Record<string, unknown>)[key] = structuredClone(schema[key]);
  }
}

function validations(schema: Node, path: string): CelRule[] | undefined {
  const rules: unknown = schema['x-kubernetes-validations'];
  if (rules === undefined) return undefined;
  if (!Array.isArray(rules) || rules.length === 0) throw new SchemaConversionError(path, 'x-kubernetes-validations must be a non-empty list');
  return (rules as CelRule[]).map((r) => ({
    rule: r.rule,
    message: r.message,
    ...(r.fieldPath !== undefined ? { fieldPath: r.fieldPath } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  }));
}

function isStringLiteralUnion(schema: Node): boolean {
  const anyOf = schema.anyOf as Node[] | undefined;
  return !!anyOf && anyOf.length > 0 && anyOf.every((s) => s[Kind] === 'Literal' && typeof s.const === 'string');
}

function convertUnion(schema: Node, path: string): JSONSchemaProps {
  const anyOf = schema.anyOf as Node[];
  if (isStringLiteralUnion(schema)) {
    const out: JSONSchemaProps = {};
    copyKeywords(schema, 'Union', path, out);
    out.type = 'string';
    out.enum = anyOf.map((s): unknown => s.const);
    return reorder(out, schema, path);
  }
  const [int, str] = anyOf;
  if (schema['x-kubernetes-int-or-string'] === true && anyOf.length === 2 && int?.[Kind] === 'Integer' && str?.[Kind] === 'String') {
    const out: JSONSchemaProps = {};
    copyKeywords(schema, 'Union', path, out);
    out['x-kubernetes-int-or-string'] = true;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    // Value validations of the branches move to the node: JSON Schema applies `pattern`
    // to strings only and `minimum` to numbers only, which is what the branches meant.
    for (const key of ['pattern', 'maxLength'] as const) if (str[key] !== undefined) out[key] = str[key] as never;
    for (const key of ['minimum', 'maximum'] as const) if (int[key] !== undefined) out[key] = int[key] as never;
    return reorder(out, schema, path);
  }
  throw new SchemaConversionError(path, 'a union must be string literals (an enum) or an int-or-string quantity');
}

/** Puts keys in one canonical order so the generated YAML is stable and easy to read. */
function reorder(out: JSONSchemaProps, schema: Node, path: string): JSONSchemaProps {
  const rules = validations(schema, path);
  if (rules) out['x-kubernetes-validations'] = rules;
  const order = ['description', 'type', 'x-kubernetes-int-or-string', 'anyOf', 'format', 'enum', 'default', 'nullable'];
  const sorted: Record<string, unknown> = {};
  for (const key of order) if (key in out) sorted[key] = (out as Record<string, unknown>)[key];
  const rest = Object.keys(out).filter((key) => !(key in sorted));
  // Value validations and structure first, the x-kubernetes-* extensions last.
  for (const key of [...rest.filter((k) => !k.startsWith('x-')), ...rest.filter((k) => k.startsWith('x-'))]) {
    sorted[key] = (out as Record<string, unknown>)[key];
  }
  return sorted;
}

/** Converts one TypeBox schema node (and everything under it) to a structural schema. */
export function toStructural(schema: TSchema, path = ''): JSONSchemaProps {
  const node = schema as Node;
  const kind = node[Kind] as string | undefined;
  const out: JSONSchemaProps = {};
  switch (kind) {
    case 'String':
    case 'Integer':
    case 'Number':
    case 'Boolean':
      copyKeywords(node, kind, path, out);
      out.type = node.type as JSONSchemaProps['type'];
      return reorder(out, node, path);
    case 'Literal':
      if (typeof node.const !== 'string') throw new SchemaConversionError(path, 'only string literals are supported');
      copyKeywords(node, 'String', path, out);
      return reorder({ ...out, type: 'string', enum: [node.const] }, node, path);
    case 'Union':
      return convertUnion(node, path);
    case 'Array':
      copyKeywords(node, kind, path, out);
      if (node.uniqueItems !== undefined) throw new SchemaConversionError(path, 'uniqueItems is not allowed: use x-kubernetes-list-type: set');
      out.type = 'array';
      out.items = toStructural(node.items as TSchema, `${path}[*]`);
      return reorder(out, node, path);
    case 'Record': {
      copyKeywords(node, kind, path, out);
      const patterns = Object.values(node.patternProperties as Record<string, TSchema>);
      if (patterns.length !== 1) throw new SchemaConversionError(path, 'a record must have exactly one value schema');
      out.type = 'object';
      out.additionalProperties = toStructural(patterns[0]!, `${path}.*`);
      return reorder(out, node, path);
    }
    case 'Object': {
      copyKeywords(node, kind, path, out);
      out.type = 'object';
      const props = (node.properties ?? {}) as Record<string, TSchema>;
      if (node.additionalProperties !== undefined && node.additionalProperties !== false && Object.keys(props).length > 0) {
        throw new SchemaConversionError(path, 'an object with properties cannot also allow additional properties');
      }
      if (Object.keys(props).length > 0) {
        out.properties = {};
        for (const [key, value] of Object.entries(props)) out.properties[key] = toStructural(value, `${path}.${key}`);
      }
      const required = node.required as string[] | undefined;
      if (required && required.length > 0) out.required = [...required];
      return reorder(out, node, path);
    }
    case 'Unknown':
      if (node['x-kubernetes-preserve-unknown-fields'] !== true) {
        throw new SchemaConversionError(path, 'an untyped node needs x-kubernetes-preserve-unknown-fields: true');
      }
      copyKeywords(node, kind, path, out);
      return reorder(out, node, path);
    default:
      throw new SchemaConversionError(path, `TypeBox kind ${String(kind)} has no structural equivalent`);
  }
}
