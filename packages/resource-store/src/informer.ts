import { GoneError } from './errors';
import { objectKey } from './object-rules';
import type { KubeObject, ResourceClient, WatchHandle } from './types';

export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void;
  /** Also called on every resync with old === new, so level-triggered loops re-check. */
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  /** Re-deliver every cached object this often (0 = never). */
  resyncMs?: number;
  /** Ask the server to end each watch after this long (tests of resume use a short one). */
  watchTimeoutSeconds?: number;
  /** Backoff between re-watches after a dropped watch. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?(err: Error): void;
}

/**
 * List, then watch from the list's resourceVersion, keeping a local cache that readers
 * use instead of the API. A dropped watch resumes from the last version seen (nothing
 * missed); a 410 Gone relists and turns the difference into add/update/delete calls.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: Array<InformerHandlers<T>> = [];
  private resourceVersion = '';
  private watchHandle?: WatchHandle;
  private resyncTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private synced = false;
  private backoffMs: number;
  /** Watches (re)started; tests and metrics read it. */
  watchStarts = 0;

  constructor(
    private readonly client: ResourceClient<T>,
    private readonly opts: InformerOptions = {},
  ) {
    this.backoffMs = opts.minBackoffMs ?? 200;
  }

  on(h: InformerHandlers<T>): this {
    this.handlers.push(h);
    return this;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first list has filled the cache and the watch has started. */
  async start(): Promise<void> {
    await this.relist();
    this.synced = true;
    this.watch();
    if (this.opts.resyncMs) {
      this.resyncTimer = setInterval(() => {
        for (const o of this.cache.values()) this.emit('update', o, o);
      }, this.opts.resyncMs);
      this.resyncTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    this.watchHandle?.stop();
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
  }

  /** A copy from the cache: never modify objects from the store. */
  get(name: string, namespace?: string): T | undefined {
    const o = this.cache.get(objectKey(name, namespace));
    return o ? structuredClone(o) : undefined;
  }

  list(namespace?: string): T[] {
    return [...this.cache.values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).map((o) => structuredClone(o));
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.client.list(this.opts.namespace !== undefined ? { namespace: this.opts.namespace } : {});
    const fresh = new Map(items.map((o) => [objectKey(o.metadata.name, o.metadata.namespace), o] as const));
    for (const [k, old] of this.cache) if (!fresh.has(k)) this.apply('DELETED', old, k);
    for (const [k, o] of fresh) this.apply(this.cache.has(k) ? 'MODIFIED' : 'ADDED', o, k);
    this.resourceVersion = resourceVersion;
  }

  private watch(): void {
    if (this.stopped) return;
    this.watchStarts++;
    this.watchHandle = this.client.watch(
      {
        resourceVersion: this.resourceVersion,
        ...(this.opts.namespace !== undefined ? { namespace: this.opts.namespace } : {}),
        ...(this.opts.watchTimeoutSeconds ? { timeoutSeconds: this.opts.watchTimeoutSeconds } : {}),
      },
      (e) => {
        this.backoffMs = this.opts.minBackoffMs ?? 200;
        this.resourceVersion = e.object.metadata.resourceVersion ?? this.resourceVersion;
        this.apply(e.type, e.object, objectKey(e.object.metadata.name, e.object.metadata.namespace));
      },
      (err) => this.onWatchEnd(err),
    );
  }

  private onWatchEnd(err?: Error): void {
    if (this.stopped) return;
    if (err) this.opts.onError?.(err);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 5_000);
    this.retryTimer = setTimeout(() => {
      const next = err instanceof GoneError ? this.relist() : Promise.resolve();
      next.then(
        () => this.watch(),
        (e: unknown) => this.onWatchEnd(e instanceof Error ? e : new Error(String(e))),
      );
    }, delay);
    this.retryTimer.unref();
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T, key: string): void {
    const old = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit('delete', obj);
    } else if (old) {
      if (old.metadata.resourceVersion === obj.metadata.resourceVersion) return; // replayed
      this.cache.set(key, obj);
      this.emit('update', old, obj);
    } else {
      this.cache.set(key, obj);
      this.emit('add', obj);
    }
  }

  private emit(kind: 'add' | 'delete', o: T): void;
  private emit(kind: 'update', old: T, o: T): void;
  private emit(kind: keyof InformerHandlers<T>, a: T, b?: T): void {
    for (const h of this.handlers) {
      if (kind === 'update') h.update?.(structuredClone(a), structuredClone(b!));
      else h[kind]?.(structuredClone(a));
    }
  }
}
