import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { BadRequest } from '../domain/errors';
import { fieldPath, responseMismatch, validatePart } from './validation';

function badRequest(fn: () => unknown): BadRequest {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequest);
    return err as BadRequest;
  }
  throw new Error('expected a BadRequest');
}

const Body = Type.Object({
  metadata: Type.Object({ name: Type.String({ minLength: 1, maxLength: 8 }) }),
  spec: Type.Object({
    vcpus: Type.Integer({ minimum: 1 }),
    memory: Type.Optional(Type.String({ pattern: '^[0-9]+Gi$' })),
    disks: Type.Optional(Type.Array(Type.Object({ size: Type.Integer({ exclusiveMinimum: 0 }) }), { maxItems: 2 })),
    when: Type.Optional(Type.String({ format: 'date-time' })),
    runStrategy: Type.Optional(Type.Union([Type.Literal('Always'), Type.Literal('Halted')], { default: 'Always' })),
  }),
});
const ok = { metadata: { name: 'a' }, spec: { vcpus: 1 } };

describe('validatePart', () => {
  it.each([
    [{ ...ok, spec: { vcpus: 0 } }, 'spec.vcpus', 'spec.vcpus: must be ≥ 1'],
    [{ ...ok, metadata: { name: '' } }, 'metadata.name', 'metadata.name: must not be empty'],
    [{ ...ok, metadata: { name: 'waytoolongname' } }, 'metadata.name', 'metadata.name: must be at most 8 characters'],
    [{ ...ok, spec: { vcpus: 1, memory: '2GB' } }, 'spec.memory', 'spec.memory: must match ^[0-9]+Gi$'],
    [{ ...ok, spec: { vcpus: 1, disks: [{ size: 1 }, { size: 0 }] } }, 'spec.disks[1].size', 'spec.disks[1].size: must be > 0'],
    [{ ...ok, spec: { vcpus: 1, disks: [{ size: 1 }, { size: 1 }, { size: 1 }] } }, 'spec.disks', 'spec.disks: must have at most 2 items'],
    [{ ...ok, spec: { vcpus: 1, when: 'yesterday' } }, 'spec.when', 'spec.when: must be a valid date-time'],
    [{ metadata: { name: 'a' } }, 'spec', 'spec: is required'],
    ['text', 'body', 'body: must be an object'],
  ])('%j → %s', (body, field, message) => {
    const err = badRequest(() => validatePart('body', Body, body));
    expect(err.field).toBe(field);
    expect(err.message).toBe(message);
    expect(err.status).toBe(400);
  });

  it('fills defaults and leaves the input untouched', () => {
    const input = structuredClone(ok);
    expect(validatePart('body', Body, input)).toEqual({ ...ok, spec: { vcpus: 1, runStrategy: 'Always' } });
    expect(input).toEqual(ok);
  });

  it('converts path and query strings, but never body values', () => {
    const Q = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, default: 20 })), all: Type.Optional(Type.Boolean()) });
    expect(validatePart('query', Q, { limit: '5', all: 'true' })).toEqual({ limit: 5, all: true });
    expect(validatePart('query', Q, undefined)).toEqual({ limit: 20 });
    expect(badRequest(() => validatePart('query', Q, { limit: 'many' })).message).toBe('limit: must be a whole number');
    expect(badRequest(() => validatePart('body', Body, { ...ok, spec: { vcpus: '2' } })).message).toBe('spec.vcpus: must be a whole number');
  });

  it('reads a null-prototype query object (what Fastify hands over)', () => {
    const q = Object.assign(Object.create(null) as object, { limit: '3' });
    expect(validatePart('query', Type.Object({ limit: Type.Integer() }), q)).toEqual({ limit: 3 });
  });
});

describe('helpers', () => {
  it('turns JSON pointers into field paths', () => {
    expect(fieldPath('')).toBe('');
    expect(fieldPath('/spec/disks/0/size')).toBe('spec.disks[0].size');
    expect(fieldPath('/metadata/labels/a~1b')).toBe('metadata.labels.a/b');
  });

  it('names the first mismatch of a response body', () => {
    expect(responseMismatch(Body, ok)).toBeUndefined();
    expect(responseMismatch(Body, { ...ok, spec: {} })).toBe('spec.vcpus: is required');
  });
});
