/**
 * Building blocks shared by every kind: the few TypeBox shapes that Kubernetes gives a
 * particular meaning (quantities, times, enums, references, conditions, object metadata).
 */
import { FormatRegistry, Type, type SchemaOptions, type TLiteral, type TUnion } from '@sinclair/typebox';

// RFC 3339 date-time, as metav1.Time serializes it. TypeBox rejects strings with a format
// it does not know, so the format is registered once (and never replaced).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));

/** DNS-1123 subdomain: what Kubernetes accepts as an object name. */
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** A non-negative quantity in bytes: `2Gi`, `512Mi`, `1.5G`, `1073741824` (no signs, no milli). */
export const BYTES_QUANTITY = '^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[kMGTPE]|([eE][0-9]+))?$';

/** A string with a closed set of values (`type: string` + `enum` in the CRD). */
export function StringEnum<const T extends string>(values: readonly T[], options: SchemaOptions = {}): TUnion<TLiteral<T>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

/**
 * A Kubernetes resource quantity in bytes (`x-kubernetes-int-or-string`): YAML `memory: 2Gi`
 * and `memory: 2147483648` are both accepted, as they are for a Pod's resources.
 */
export function Quantity(description: string, options: SchemaOptions = {}) {
  return Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: BYTES_QUANTITY, maxLength: 64 })], {
    description,
    'x-kubernetes-int-or-string': true,
    ...options,
  });
}

/** An RFC 3339 timestamp (metav1.Time on the wire). */
export function Time(description: string) {
  return Type.String({ format: 'date-time', description });
}

/** A name of an object of some kind (DNS-1123 subdomain, at most 253 characters). */
export function Name(description: string, options: SchemaOptions = {}) {
  return Type.String({ pattern: DNS_SUBDOMAIN, maxLength: 253, description, ...options });
}

/** `{ name }` naming another object in the same namespace (LocalObjectReference). */
export function LocalRef(description: string, options: SchemaOptions = {}) {
  return Type.Object({ name: Name('Name of the referenced object.', { minLength: 1 }) }, {
    description,
    additionalProperties: false,
    'x-kubernetes-map-type': 'atomic',
    ...options,
  });
}

/** A label map (`string → string`). */
export function StringMap(description: string, options: SchemaOptions = {}) {
  return Type.Record(Type.String(), Type.String({ maxLength: 63 }), { description, ...options });
}

/** A list of names (users, groups), treated as a set by server-side apply. */
export function NameSet(description: string, maxItems = 256) {
  return Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
    description,
    maxItems,
    'x-kubernetes-list-type': 'set',
  });
}

/** `status.observedGeneration`: the `metadata.generation` the status was written for. */
export function ObservedGeneration() {
  return Type.Integer({ format: 'int64', minimum: 0, description: 'The metadata.generation this status was computed from.' });
}

export const ConditionStatusSchema = StringEnum(['True', 'False', 'Unknown'] as const, {
  description: 'Status of the condition: True, False or Unknown.',
});

/** metav1.Condition, with the same validations as the upstream type. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({
      description: 'Type of condition in CamelCase, e.g. Ready.',
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: ConditionStatusSchema,
    observedGeneration: Type.Optional(
      Type.Integer({ format: 'int64', minimum: 0, description: 'The metadata.generation the condition was set for.' }),
    ),
    lastTransitionTime: Time('When the condition last changed from one status to another.'),
    reason: Type.String({
      description: "Programmatic identifier of the condition's last transition, in CamelCase.",
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({ description: 'Human-readable details about the transition; may be empty.', maxLength: 32768 }),
  },
  { additionalProperties: false },
);

/** `status.conditions`: a list-map keyed by `type`, so server-side apply merges per condition. */
export function Conditions() {
  return Type.Array(ConditionSchema, {
    description: 'Latest observations of the object, one per condition type.',
    maxItems: 32,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
}

const OwnerReference = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  controller: Type.Optional(Type.Boolean()),
  blockOwnerDeletion: Type.Optional(Type.Boolean()),
});

/**
 * The part of ObjectMeta that Deskplane code reads and writes. Used by `validate*` only:
 * in the CRD, metadata is the apiserver's business (`type: object`). Unknown fields such as
 * `managedFields` are allowed.
 */
export const ObjectMetaSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 253, pattern: DNS_SUBDOMAIN })),
    generateName: Type.Optional(Type.String({ maxLength: 253 })),
    namespace: Type.Optional(Type.String({ maxLength: 63 })),
    uid: Type.Optional(Type.String()),
    resourceVersion: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer({ minimum: 0 })),
    creationTimestamp: Type.Optional(Time('When the object was created.')),
    deletionTimestamp: Type.Optional(Time('When deletion was requested.')),
    deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    finalizers: Type.Optional(Type.Array(Type.String())),
    ownerReferences: Type.Optional(Type.Array(OwnerReference)),
  },
  { additionalProperties: true },
);
