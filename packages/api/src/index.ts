/**
 * @deskplane/api — the deskplane.io/v1alpha1 resource types, their validation and their
 * CRDs, all from one TypeBox definition per kind (src/kinds/). No runtime dependencies
 * beyond schema tooling (TypeBox, yaml).
 *
 * @example
 * import { API_VERSION, VirtualDesktopKind, applyDefaults, validateVirtualDesktop, setCondition, type VirtualDesktop } from '@deskplane/api';
 *
 * const vd: VirtualDesktop = applyDefaults({
 *   apiVersion: API_VERSION, kind: 'VirtualDesktop', metadata: { name: 'alice-dev', namespace: 'team-a' },
 *   spec: { templateRef: { name: 'debian-xfce' }, owner: 'alice' },
 * });
 * console.log(vd.spec.runStrategy);                 // "Always" (the CRD default)
 * const result = validateVirtualDesktop(vd);
 * if (!result.ok) console.error(result.issues);     // [{ path: 'spec.runStrategy', message: 'Unsupported value: ...' }]
 * vd.status = { phase: 'Running', conditions: setCondition(vd.status?.conditions, { type: 'Ready', status: 'True', reason: 'Running' }, new Date()) };
 * console.log(VirtualDesktopKind.info.plural);      // "virtualdesktops"
 */
export * from './group';
export * from './errors';
export * from './conditions';
export * from './quantity';
export * from './quota';
export * from './kinds';
export * from './kinds/validators';
export { validate, validateAs, assertValid, applyDefaults, issuesFor, type ValidationResult } from './validate';
export { buildCrd, renderCrd, renderCrds, crdFileName, crdName, openAPIV3Schema, type CustomResourceDefinition } from './crd';
export { toStructural, type JSONSchemaProps } from './schema/structural';
export { cel, celCheck, immutable, isTransitionRule, type CelRule, type CelCheck } from './schema/cel';
export { type KindDefinition, type KindInfo, type PrinterColumn } from './schema/define';
export { ConditionSchema, ObjectMetaSchema, BYTES_QUANTITY, DNS_SUBDOMAIN } from './schema/common';
export { applyStatusPatch, type StatusPatch } from './status-patch';
