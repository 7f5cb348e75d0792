import * as k8s from '@kubernetes/client-node';
import { AlreadyExistsError, ConflictError, GoneError, InvalidError, NotFoundError } from './errors';
import { eventRecorderFor, EVENT_TYPE } from './events';
import { leaseClientFor, LEASE_TYPE } from './leases';
import { displayName } from './object-rules';
import type { KubeObject, ListOptions, ObjectList, ResourceClient, ResourceStore, ResourceType, WatchEvent, WatchHandle, WatchOptions } from './types';

export interface KubernetesStoreOptions {
  /** Path of a kubeconfig; the default loading rules (in-cluster, $KUBECONFIG, ~/.kube) otherwise. */
  kubeconfig?: string;
  /** Reported on Events as the reporting instance (the pod or host name). */
  instance?: string;
  /** Reported on Events as the reporting controller, e.g. deskplane.io/orchestrator. */
  component?: string;
  now?: () => Date;
}

/** The resource-access contract on a real cluster, through @kubernetes/client-node. */
export class KubernetesStore implements ResourceStore {
  readonly kc: k8s.KubeConfig;
  readonly api: k8s.CustomObjectsApi;
  readonly events;
  readonly leases;
  private readonly aborts = new Set<AbortController>();

  constructor(opts: KubernetesStoreOptions = {}) {
    this.kc = new k8s.KubeConfig();
    if (opts.kubeconfig) this.kc.loadFromFile(opts.kubeconfig);
    else this.kc.loadFromDefault();
    this.api = this.kc.makeApiClient(k8s.CustomObjectsApi);
    const now = opts.now ?? (() => new Date());
    this.events = eventRecorderFor(this.client(EVENT_TYPE), now, opts.instance, opts.component);
    this.leases = leaseClientFor(this.client(LEASE_TYPE));
  }

  client<T extends KubeObject>(type: ResourceType): ResourceClient<T> {
    return new KubernetesClient<T>(this, type);
  }

  track(a: AbortController): () => void {
    this.aborts.add(a);
    return () => this.aborts.delete(a);
  }

  close(): Promise<void> {
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    return Promise.resolve();
  }
}

class KubernetesClient<T extends KubeObject> implements ResourceClient<T> {
  constructor(
    private readonly store: KubernetesStore,
    readonly type: ResourceType,
  ) {}

  private base(namespace?: string) {
    const { group, version, plural } = this.type;
    return { group, version, plural, ...(this.type.namespaced ? { namespace: namespace ?? 'default' } : {}) };
  }

  async get(name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.call(name, () =>
        this.type.namespaced
          ? this.store.api.getNamespacedCustomObject({ ...this.base(namespace), namespace: namespace ?? 'default', name })
          : this.store.api.getClusterCustomObject({ ...this.base(), name }),
      );
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  async list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    const labelSelector = selector(opts.labelSelector);
    const res = (await this.call('', () =>
      this.type.namespaced && opts.namespace
        ? this.store.api.listNamespacedCustomObject({ ...this.base(opts.namespace), namespace: opts.namespace, ...(labelSelector ? { labelSelector } : {}) })
        : this.store.api.listClusterCustomObject({ ...this.base(), ...(labelSelector ? { labelSelector } : {}) }),
    )) as unknown as { items: T[]; metadata: { resourceVersion: string } };
    return { items: res.items.map((o) => withTypeMeta(o, this.type)), resourceVersion: res.metadata.resourceVersion };
  }

  create(obj: T): Promise<T> {
    return this.call(obj.metadata.name, () =>
      this.type.namespaced
        ? this.store.api.createNamespacedCustomObject({ ...this.base(obj.metadata.namespace), namespace: obj.metadata.namespace ?? 'default', body: obj })
        : this.store.api.createClusterCustomObject({ ...this.base(), body: obj }),
    );
  }

  update(obj: T): Promise<T> {
    const name = obj.metadata.name;
    return this.call(name, () =>
      this.type.namespaced
        ? this.store.api.replaceNamespacedCustomObject({ ...this.base(obj.metadata.namespace), namespace: obj.metadata.namespace ?? 'default', name, body: obj })
        : this.store.api.replaceClusterCustomObject({ ...this.base(), name, body: obj }),
    );
  }

  updateStatus(obj: T): Promise<T> {
    const name = obj.metadata.name;
    return this.call(name, () =>
      this.type.namespaced
        ? this.store.api.replaceNamespacedCustomObjectStatus({ ...this.base(obj.metadata.namespace), namespace: obj.metadata.namespace ?? 'default', name, body: obj })
        : this.store.api.replaceClusterCustomObjectStatus({ ...this.base(), name, body: obj }),
    );
  }

  async delete(name: string, namespace?: string): Promise<boolean> {
    try {
      await this.call(name, () =>
        this.type.namespaced
          ? this.store.api.deleteNamespacedCustomObject({ ...this.base(namespace), namespace: namespace ?? 'default', name })
          : this.store.api.deleteClusterCustomObject({ ...this.base(), name }),
      );
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  watch(opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onEnd: (err?: Error) => void): WatchHandle {
    const { group, version, plural, namespaced } = this.type;
    const path = `/apis/${group}/${version}${namespaced && opts.namespace ? `/namespaces/${opts.namespace}` : ''}/${plural}`;
    const labelSelector = selector(opts.labelSelector);
    let ended = false;
    let stopped = false;
    let abort: AbortController | undefined;
    let untrack = (): void => undefined;
    const end = (err?: Error): void => {
      if (ended) return;
      ended = true;
      untrack();
      if (!stopped) onEnd(err);
    };
    new k8s.Watch(this.store.kc)
      .watch(
        path,
        {
          resourceVersion: opts.resourceVersion,
          allowWatchBookmarks: true,
          ...(labelSelector ? { labelSelector } : {}),
          ...(opts.timeoutSeconds ? { timeoutSeconds: opts.timeoutSeconds } : {}),
        },
        (phase, obj: KubeObject & { code?: number; message?: string }) => {
          if (ended) return;
          if (phase === 'ERROR') {
            end(obj.code === 410 ? new GoneError(obj.message ?? 'resource version too old') : new Error(`watch error: ${obj.message ?? phase}`));
            abort?.abort();
          } else if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
            onEvent({ type: phase, object: withTypeMeta(obj as T, this.type) });
          }
        },
        (err: unknown) => end(err ? toError(err) : undefined),
      )
      .then(
        (a) => {
          abort = a;
          untrack = this.store.track(a);
          if (stopped || ended) a.abort();
        },
        (err: unknown) => end(toError(err)),
      );
    return {
      stop: () => {
        stopped = true;
        abort?.abort();
      },
    };
  }

  /** One API call: 429 retried after Retry-After, Kubernetes' errors mapped to ours. */
  private async call<R>(name: string, fn: () => Promise<R>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return withTypeMeta((await fn()) as unknown as T, this.type);
      } catch (e) {
        if (e instanceof k8s.ApiException && e.code === 429 && attempt < 10) {
          const retryAfter = Number((e.headers as Record<string, string> | undefined)?.['retry-after'] ?? 1);
          await new Promise((r) => setTimeout(r, Math.min(retryAfter, 5) * 1000 * (attempt ? 1 : 0.2)));
          continue;
        }
        throw mapError(e, `${displayName(this.type, { metadata: { name } })}`);
      }
    }
  }
}

function withTypeMeta<T extends KubeObject>(o: T, t: ResourceType): T {
  // List items come without apiVersion/kind; callers (and Events) need them.
  return { ...o, apiVersion: o.apiVersion ?? `${t.group}/${t.version}`, kind: o.kind ?? t.kind };
}

function selector(s?: Record<string, string>): string | undefined {
  return s && Object.keys(s).length ? Object.entries(s).map(([k, v]) => `${k}=${v}`).join(',') : undefined;
}

function mapError(e: unknown, what: string): Error {
  if (!(e instanceof k8s.ApiException)) return toError(e);
  const body = parseBody(e.body);
  const message = body.message ?? `${what}: HTTP ${e.code}`;
  switch (e.code) {
    case 404:
      return new NotFoundError(message);
    case 409:
      return body.reason === 'AlreadyExists' ? new AlreadyExistsError(message) : new ConflictError(message);
    case 410:
      return new GoneError(message);
    case 422:
      return new InvalidError(message);
    default:
      return new Error(`${what}: HTTP ${e.code}: ${message}`);
  }
}

function parseBody(b: unknown): { message?: string; reason?: string } {
  if (typeof b === 'string') {
    try {
      return JSON.parse(b) as { message?: string; reason?: string };
    } catch {
      return { message: b };
    }
  }
  return (b ?? {});
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
