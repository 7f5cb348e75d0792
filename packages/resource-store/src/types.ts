/**
 * The resource-access contract the operator and the API service program against. Two
 * backends implement it with the same semantics — the Kubernetes API (clusters) and an
 * embedded store (the one-command local run) — and one contract suite tests both.
 * Semantics are Kubernetes' own: optimistic concurrency on resourceVersion, generation
 * bumped by spec changes only, a status subresource, finalizers that hold deletion, and
 * watches that resume from a resourceVersion or say it is gone (410).
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

/** Identifies a resource type the way the API paths do. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends KubeObject> {
  type: WatchEventType;
  object: T;
}

export interface ListOptions {
  /** Omit for all namespaces (or for cluster-scoped types). */
  namespace?: string;
  /** Equality-based selector: every label must match. */
  labelSelector?: Record<string, string>;
}

export interface ObjectList<T extends KubeObject> {
  items: T[];
  /** Watch from here to see every change after this list. */
  resourceVersion: string;
}

export interface WatchHandle {
  stop(): void;
}

export interface WatchOptions extends ListOptions {
  /** Deliver changes after this version. GoneError (via onEnd) when it is too old. */
  resourceVersion: string;
  /** The server ends the watch after this long (onEnd without error); watchers resume. */
  timeoutSeconds?: number;
}

export interface ResourceClient<T extends KubeObject> {
  readonly type: ResourceType;
  get(name: string, namespace?: string): Promise<T | undefined>;
  list(opts?: ListOptions): Promise<ObjectList<T>>;
  /** AlreadyExistsError when the name is taken; InvalidError when the schema rejects it. */
  create(obj: T): Promise<T>;
  /**
   * Replaces metadata and spec (status is ignored; use updateStatus). The object's
   * resourceVersion must be current, else ConflictError. Generation goes up only when the
   * spec changes. Removing the last finalizer of an object being deleted deletes it.
   */
  update(obj: T): Promise<T>;
  /** Replaces status only; ConflictError on a stale resourceVersion. */
  updateStatus(obj: T): Promise<T>;
  /**
   * Deletes the object, or — when it has finalizers — marks it with a deletionTimestamp
   * and leaves it until they are removed. Returns false when it did not exist.
   */
  delete(name: string, namespace?: string): Promise<boolean>;
  /**
   * Streams changes after opts.resourceVersion. onEnd is called once when the watch ends
   * for any reason other than stop(): with GoneError when the version is too old (relist),
   * or another error (watch again from the last version seen).
   */
  watch(opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onEnd: (err?: Error) => void): WatchHandle;
}

export type EventType = 'Normal' | 'Warning';

/** Kubernetes Events about an object (what `kubectl describe` shows). */
export interface EventRecorder {
  record(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
  /** Events about one object, oldest first (for tests and the embedded backend's API). */
  list(regarding: Pick<KubeObject, 'kind' | 'metadata'>): Promise<Array<{ type: EventType; reason: string; message: string; count: number }>>;
}

/** coordination.k8s.io Lease, reduced to what leader election needs. */
export interface Lease {
  name: string;
  namespace: string;
  holderIdentity?: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
  resourceVersion?: string;
}

export interface LeaseClient {
  get(name: string, namespace: string): Promise<Lease | undefined>;
  /** AlreadyExistsError when another candidate created it first. */
  create(lease: Lease): Promise<Lease>;
  /** ConflictError when someone else changed it since it was read. */
  update(lease: Lease): Promise<Lease>;
}

export interface ResourceStore {
  client<T extends KubeObject>(type: ResourceType): ResourceClient<T>;
  readonly events: EventRecorder;
  readonly leases: LeaseClient;
  close(): Promise<void>;
}
