import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { SchemaConversionError } from '../errors';
import { cel } from './cel';
import { Quantity, StringEnum } from './common';
import { toStructural } from './structural';

describe('toStructural', () => {
  it('turns an object of scalars into a typed, ordered node and drops TypeBox internals', () => {
    const schema = Type.Object(
      { n: Type.Integer({ minimum: 1, maximum: 5, default: 2 }), s: Type.Optional(Type.String({ pattern: '^a$', description: 'd' })) },
      { additionalProperties: false, description: 'obj' },
    );
    expect(toStructural(schema)).toEqual({
      description: 'obj',
      type: 'object',
      properties: { n: { type: 'integer', default: 2, minimum: 1, maximum: 5 }, s: { description: 'd', type: 'string', pattern: '^a$' } },
      required: ['n'],
    });
    expect(Object.keys(toStructural(Type.Integer({ maximum: 3, default: 1, description: 'x' })))).toEqual(['description', 'type', 'default', 'maximum']);
  });

  it('collapses a union of string literals into an enum', () => {
    expect(toStructural(StringEnum(['A', 'B'], { default: 'A' }))).toEqual({ type: 'string', enum: ['A', 'B'], default: 'A' });
  });

  it('writes a quantity as int-or-string with the branch validations on the node', () => {
    expect(toStructural(Quantity('mem'))).toEqual({
      description: 'mem',
      type: undefined,
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      pattern: expect.any(String) as string,
      maxLength: 64,
      minimum: 0,
    } as never);
    expect(toStructural(Quantity('mem')).type).toBeUndefined();
  });

  it('turns records into additionalProperties maps and keeps list extensions', () => {
    expect(toStructural(Type.Record(Type.String(), Type.String()))).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(toStructural(Type.Array(Type.String(), { 'x-kubernetes-list-type': 'set', maxItems: 3 }))).toEqual({
      type: 'array',
      maxItems: 3,
      items: { type: 'string' },
      'x-kubernetes-list-type': 'set',
    });
  });

  it('carries CEL rules (rule, message, fieldPath, reason) and nothing else', () => {
    const rule = cel('self.a <= self.b', 'a must not exceed b', (s: { a: number; b: number }) => s.a <= s.b, { fieldPath: '.a' });
    const out = toStructural(Type.Object({ a: Type.Integer(), b: Type.Integer() }, { 'x-kubernetes-validations': [rule] }));
    expect(out['x-kubernetes-validations']).toEqual([{ rule: 'self.a <= self.b', message: 'a must not exceed b', fieldPath: '.a' }]);
  });

  it.each([
    ['a $ref', Type.Ref('Thing'), /no structural equivalent/],
    ['a union of objects', Type.Union([Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })]), /union must be/],
    ['uniqueItems', Type.Array(Type.String(), { uniqueItems: true }), /uniqueItems/],
    ['an unknown keyword', Type.String({ examples: ['x'] }), /keyword "examples"/],
    ['properties plus additionalProperties', Type.Object({ a: Type.String() }, { additionalProperties: Type.String() }), /cannot also allow/],
    ['an untyped node', Type.Unknown(), /preserve-unknown-fields/],
    ['a number literal', Type.Literal(3), /string literals/],
  ])('refuses %s with the schema path', (_what, schema, message) => {
    const wrapped = Type.Object({ inner: schema });
    expect(() => toStructural(wrapped, '.spec')).toThrow(SchemaConversionError);
    expect(() => toStructural(wrapped, '.spec')).toThrow(message);
    expect(() => toStructural(wrapped, '.spec')).toThrow(/\.spec\.inner/);
  });

  it('keeps untyped nodes that preserve unknown fields', () => {
    expect(toStructural(Type.Unknown({ 'x-kubernetes-preserve-unknown-fields': true }))).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
  });
});
