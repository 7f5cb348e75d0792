/** One kind = its names, its spec and status schemas, and how kubectl shows it. */
import { Type, type TLiteral, type TObject, type TOptionalWithFlag, type TSchema } from '@sinclair/typebox';
import { API_VERSION, GROUP, VERSION } from '../group';
import { type CelRule } from './cel';
import { ObjectMetaSchema } from './common';

/** The names of a kind, as the CRD's `spec.names` and `spec.scope` use them. */
export interface KindInfo<K extends string = string> {
  /** group, version, kind, plural and namespaced together are what a resource client needs. */
  readonly group: typeof GROUP;
  readonly version: typeof VERSION;
  readonly kind: K;
  readonly listKind: `${K}List`;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
}

/** A column of `kubectl get` (CRD `additionalPrinterColumns`). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 = always shown; 1 = only with `-o wide`. */
  priority?: number;
}

/** The `/scale` subresource, so `kubectl scale` works on the kind. */
export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
}

export type ResourceSchema<K extends string, S extends TSchema, St extends TSchema> = TObject<{
  apiVersion: TLiteral<typeof API_VERSION>;
  kind: TLiteral<K>;
  metadata: typeof ObjectMetaSchema;
  spec: S;
  status: TOptionalWithFlag<St, true>;
}>;

export interface KindDefinition<K extends string = string, S extends TSchema = TSchema, St extends TSchema = TSchema> {
  readonly info: KindInfo<K>;
  /** What the kind is for: the CRD's top-level description (`kubectl explain <kind>`). */
  readonly description: string;
  readonly spec: S;
  readonly status: St;
  /** The whole object (apiVersion, kind, metadata, spec, status): what `validate*` checks. */
  readonly schema: ResourceSchema<K, S, St>;
  /** CEL rules on the whole object (they may read `self.metadata.name`). */
  readonly rootValidations: readonly CelRule[];
  readonly printerColumns: readonly PrinterColumn[];
  readonly scale?: ScaleSubresource;
  /** The file that defines the kind, named in the generated CRD's header. */
  readonly source: string;
}

export interface KindInput<K extends string, S extends TSchema, St extends TSchema> {
  info: Omit<KindInfo<K>, 'listKind' | 'group' | 'version'>;
  description: string;
  spec: S;
  status: St;
  rootValidations?: CelRule[];
  printerColumns: PrinterColumn[];
  scale?: ScaleSubresource;
  source: string;
}

/** The Age column every kind ends with. */
export const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** Assembles a kind: the whole-object schema is built from spec and status, once. */
export function defineKind<K extends string, S extends TSchema, St extends TSchema>(input: KindInput<K, S, St>): KindDefinition<K, S, St> {
  const rootValidations = input.rootValidations ?? [];
  const schema = Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION),
      kind: Type.Literal(input.info.kind),
      metadata: ObjectMetaSchema,
      spec: input.spec,
      status: Type.Optional(input.status),
    },
    {
      additionalProperties: false,
      ...(rootValidations.length > 0 ? { 'x-kubernetes-validations': rootValidations } : {}),
    },
  );
  return {
    info: { ...input.info, group: GROUP, version: VERSION, listKind: `${input.info.kind}List` },
    description: input.description,
    spec: input.spec,
    status: input.status,
    schema,
    rootValidations,
    printerColumns: input.printerColumns,
    ...(input.scale ? { scale: input.scale } : {}),
    source: input.source,
  };
}
