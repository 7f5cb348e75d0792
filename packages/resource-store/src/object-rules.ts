import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ConflictError, InvalidError } from './errors';
import type { KubeObject, ResourceType } from './types';

/**
 * Kubernetes' object rules as pure functions over (stored, incoming) → next, so the
 * embedded backend behaves like the apiserver and the rules are testable on their own.
 */

export const typeKey = (t: Pick<ResourceType, 'group' | 'version' | 'plural'>): string =>
  `${t.plural}.${t.group || 'core'}/${t.version}`;

export const objectKey = (name: string, namespace?: string): string => (namespace ? `${namespace}/${name}` : name);

export function displayName(t: ResourceType, obj: Pick<KubeObject, 'metadata'>): string {
  return `${t.plural}${t.group ? '.' + t.group : ''} "${obj.metadata.name}"`;
}

export function prepareCreate<T extends KubeObject>(t: ResourceType, obj: T, rv: string, now: Date): T {
  if (obj.metadata.resourceVersion) {
    throw new InvalidError(`${displayName(t, obj)} is invalid: metadata.resourceVersion must not be set on create`);
  }
  checkName(t, obj);
  const out = structuredClone(obj);
  delete out.status; // the status subresource: status is never written by create or update
  out.metadata = {
    ...out.metadata,
    namespace: t.namespaced ? out.metadata.namespace : undefined,
    uid: randomUUID(),
    resourceVersion: rv,
    generation: 1,
    creationTimestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  delete out.metadata.deletionTimestamp;
  if (out.metadata.namespace === undefined) delete out.metadata.namespace;
  return out;
}

/** Applies an update of metadata + spec; returns the next object and whether it is now gone. */
export function prepareUpdate<T extends KubeObject>(t: ResourceType, stored: T, incoming: T, rv: string): { next: T; deleted: boolean } {
  checkVersion(t, stored, incoming);
  const deleting = stored.metadata.deletionTimestamp !== undefined;
  const oldFin = stored.metadata.finalizers ?? [];
  const newFin = incoming.metadata.finalizers ?? [];
  if (deleting && newFin.some((f) => !oldFin.includes(f))) {
    throw new InvalidError(`${displayName(t, stored)} is invalid: metadata.finalizers: no new finalizers can be added while the object is being deleted`);
  }
  const next = structuredClone(incoming);
  next.status = structuredClone(stored.status);
  if (next.status === undefined) delete next.status;
  const specChanged = !isDeepStrictEqual(stored.spec, incoming.spec);
  next.metadata = {
    ...next.metadata,
    // Immutable or server-owned fields always come from the stored object.
    name: stored.metadata.name,
    namespace: stored.metadata.namespace,
    uid: stored.metadata.uid,
    creationTimestamp: stored.metadata.creationTimestamp,
    deletionTimestamp: stored.metadata.deletionTimestamp,
    generation: (stored.metadata.generation ?? 1) + (specChanged ? 1 : 0),
    resourceVersion: rv,
  };
  for (const k of ['namespace', 'deletionTimestamp'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
  return { next, deleted: deleting && newFin.length === 0 };
}

export function prepareStatusUpdate<T extends KubeObject>(t: ResourceType, stored: T, incoming: T, rv: string): T {
  checkVersion(t, stored, incoming);
  const next = structuredClone(stored);
  next.status = structuredClone(incoming.status);
  next.metadata.resourceVersion = rv;
  return next;
}

/** Marks an object with finalizers for deletion; null when it can go at once. */
export function prepareDelete<T extends KubeObject>(stored: T, rv: string, now: Date): T | null {
  if (!stored.metadata.finalizers?.length) return null;
  if (stored.metadata.deletionTimestamp) return stored; // already marked: nothing changes
  const next = structuredClone(stored);
  next.metadata.deletionTimestamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  next.metadata.resourceVersion = rv;
  return next;
}

export function matchesSelector(obj: KubeObject, selector?: Record<string, string>): boolean {
  if (!selector) return true;
  const labels = obj.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function checkVersion(t: ResourceType, stored: KubeObject, incoming: KubeObject): void {
  if (incoming.metadata.resourceVersion !== stored.metadata.resourceVersion) {
    throw new ConflictError(
      `Operation cannot be fulfilled on ${displayName(t, stored)}: the object has been modified; please apply your changes to the latest version and try again`,
    );
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function checkName(t: ResourceType, obj: KubeObject): void {
  const { name, namespace } = obj.metadata;
  if (!name || !DNS_SUBDOMAIN.test(name)) {
    throw new InvalidError(`${displayName(t, obj)} is invalid: metadata.name: must be a lowercase RFC 1123 subdomain`);
  }
  if (t.namespaced && !namespace) throw new InvalidError(`${displayName(t, obj)} is invalid: metadata.namespace: required`);
}
