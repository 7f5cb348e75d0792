import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, GoneError, InvalidError, NotFoundError } from './errors';
import { leaseClientFor, LEASE_TYPE } from './leases';
import { eventRecorderFor, EVENT_TYPE } from './events';
import {
  displayName,
  matchesSelector,
  objectKey,
  prepareCreate,
  prepareDelete,
  prepareStatusUpdate,
  prepareUpdate,
  typeKey,
} from './object-rules';
import type { KubeObject, ListOptions, ObjectList, ResourceClient, ResourceStore, ResourceType, WatchEvent, WatchHandle, WatchOptions } from './types';

/** Schema hooks per type: the embedded store has no apiserver to default and validate. */
export interface TypeSchema {
  applyDefaults?(obj: KubeObject): KubeObject;
  /** Problems as "path: message"; empty when valid. */
  validate?(obj: KubeObject): string[];
}

export interface EmbeddedStoreOptions {
  /** Persist to `<dir>/store.jsonl`; in memory only when omitted. */
  dir?: string;
  /** How many changes a watch can resume across (older versions get 410 Gone). */
  historySize?: number;
  schemas?: ReadonlyMap<string, TypeSchema>;
  now?: () => Date;
  /** Reported on Events as the reporting controller. */
  component?: string;
}

interface Change {
  rv: number;
  type: string;
  event: WatchEvent<KubeObject>;
}

interface Watcher {
  type: string;
  opts: ListOptions;
  onEvent: (e: WatchEvent<KubeObject>) => void;
}

/**
 * In-process store with the apiserver's semantics, persisted as an append-only journal
 * (one JSON line per change, compacted on open), for the one-command local run.
 */
export class EmbeddedStore implements ResourceStore {
  private rv = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly journal?: string;
  private readonly now: () => Date;
  readonly events;
  readonly leases;

  constructor(private readonly opts: EmbeddedStoreOptions = {}) {
    this.now = opts.now ?? (() => new Date());
    if (opts.dir) {
      mkdirSync(opts.dir, { recursive: true });
      this.journal = join(opts.dir, 'store.jsonl');
      this.load(this.journal);
    }
    this.events = eventRecorderFor(this.client(EVENT_TYPE), this.now, 'local', opts.component);
    this.leases = leaseClientFor(this.client(LEASE_TYPE));
  }

  client<T extends KubeObject>(type: ResourceType): ResourceClient<T> {
    return new EmbeddedClient<T>(this, type);
  }

  close(): Promise<void> {
    this.watchers.clear();
    return Promise.resolve();
  }

  // --- used by EmbeddedClient ---------------------------------------------------------

  bucket(type: ResourceType): Map<string, KubeObject> {
    const k = typeKey(type);
    let b = this.objects.get(k);
    if (!b) this.objects.set(k, (b = new Map<string, KubeObject>()));
    return b;
  }

  nextVersion(): string {
    return String(this.rv + 1);
  }

  get currentVersion(): string {
    return String(this.rv);
  }

  checkSchema(type: ResourceType, obj: KubeObject): KubeObject {
    const schema = this.opts.schemas?.get(typeKey(type));
    const defaulted = schema?.applyDefaults ? schema.applyDefaults(structuredClone(obj)) : obj;
    const problems = schema?.validate?.(defaulted) ?? [];
    if (problems.length) throw new InvalidError(`${displayName(type, obj)} is invalid: ${problems.join('; ')}`);
    return defaulted;
  }

  /** Records one change: bumps the version, journals it, and tells the watchers. */
  commit(type: ResourceType, event: WatchEvent<KubeObject>): void {
    this.rv += 1;
    const tk = typeKey(type);
    const key = objectKey(event.object.metadata.name, event.object.metadata.namespace);
    if (event.type === 'DELETED') this.bucket(type).delete(key);
    else this.bucket(type).set(key, event.object);
    if (this.journal) appendFileSync(this.journal, JSON.stringify({ t: tk, e: event }) + '\n');
    this.history.push({ rv: this.rv, type: tk, event });
    if (this.history.length > (this.opts.historySize ?? 1000)) this.history.shift();
    for (const w of this.watchers) if (w.type === tk && matches(event.object, w.opts)) deliver(w, event);
  }

  watch(type: ResourceType, opts: WatchOptions, onEvent: Watcher['onEvent'], onEnd: (err?: Error) => void): WatchHandle {
    const from = Number(opts.resourceVersion);
    const oldest = this.history[0]?.rv ?? this.rv + 1;
    if (!Number.isInteger(from) || from < 0 || from > this.rv || (from < oldest - 1 && from !== this.rv)) {
      queueMicrotask(() => onEnd(new GoneError(`too old resource version: ${opts.resourceVersion} (oldest kept ${oldest - 1})`)));
      return { stop: () => undefined };
    }
    const w: Watcher = { type: typeKey(type), opts, onEvent };
    for (const c of this.history) if (c.rv > from && c.type === w.type && matches(c.event.object, opts)) deliver(w, c.event);
    this.watchers.add(w);
    const timer = opts.timeoutSeconds
      ? setTimeout(() => this.watchers.delete(w) && queueMicrotask(() => onEnd()), opts.timeoutSeconds * 1000)
      : undefined;
    timer?.unref();
    return {
      stop: () => {
        clearTimeout(timer);
        this.watchers.delete(w);
      },
    };
  }

  private load(file: string): void {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      let rec: { t: string; e: WatchEvent<KubeObject> };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        break; // a torn last line from a crash: everything before it stands
      }
      const b = this.objects.get(rec.t) ?? new Map<string, KubeObject>();
      this.objects.set(rec.t, b);
      const key = objectKey(rec.e.object.metadata.name, rec.e.object.metadata.namespace);
      if (rec.e.type === 'DELETED') b.delete(key);
      else b.set(key, rec.e.object);
      this.rv = Math.max(this.rv, Number(rec.e.object.metadata.resourceVersion ?? 0));
    }
    // Compact: one ADDED line per live object, written aside and renamed over the journal.
    const lines: string[] = [];
    for (const [t, b] of this.objects) for (const object of b.values()) lines.push(JSON.stringify({ t, e: { type: 'ADDED', object } }));
    writeFileSync(`${file}.tmp`, lines.length ? lines.join('\n') + '\n' : '');
    renameSync(`${file}.tmp`, file);
  }
}

function matches(obj: KubeObject, opts: ListOptions): boolean {
  return (opts.namespace === undefined || obj.metadata.namespace === opts.namespace) && matchesSelector(obj, opts.labelSelector);
}

/** Each watcher gets its own copy, asynchronously and in order. */
function deliver(w: Watcher, event: WatchEvent<KubeObject>): void {
  const copy = structuredClone(event);
  queueMicrotask(() => w.onEvent(copy));
}

class EmbeddedClient<T extends KubeObject> implements ResourceClient<T> {
  constructor(
    private readonly store: EmbeddedStore,
    readonly type: ResourceType,
  ) {}

  get(name: string, namespace?: string): Promise<T | undefined> {
    const o = this.store.bucket(this.type).get(objectKey(name, this.type.namespaced ? namespace : undefined));
    return Promise.resolve(o ? (structuredClone(o) as T) : undefined);
  }

  list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    const items = [...this.store.bucket(this.type).values()].filter((o) => matches(o, opts)).map((o) => structuredClone(o) as T);
    items.sort((a, b) => objectKey(a.metadata.name, a.metadata.namespace).localeCompare(objectKey(b.metadata.name, b.metadata.namespace)));
    return Promise.resolve({ items, resourceVersion: this.store.currentVersion });
  }

  create(obj: T): Promise<T> {
    return attempt(() => {
      const ns = this.type.namespaced ? obj.metadata.namespace : undefined;
      if (this.store.bucket(this.type).has(objectKey(obj.metadata.name, ns))) {
        throw new AlreadyExistsError(`${displayName(this.type, obj)} already exists`);
      }
      const next = prepareCreate(this.type, this.store.checkSchema(this.type, obj) as T, this.store.nextVersion(), new Date());
      this.store.commit(this.type, { type: 'ADDED', object: next });
      return structuredClone(next);
    });
  }

  update(obj: T): Promise<T> {
    return attempt(() => {
      const stored = this.mustGet(obj);
      const { next, deleted } = prepareUpdate(this.type, stored, this.store.checkSchema(this.type, obj) as T, this.store.nextVersion());
      this.store.commit(this.type, { type: deleted ? 'DELETED' : 'MODIFIED', object: next });
      return structuredClone(next);
    });
  }

  updateStatus(obj: T): Promise<T> {
    return attempt(() => {
      const stored = this.mustGet(obj);
      const next = prepareStatusUpdate(this.type, stored, obj, this.store.nextVersion());
      this.store.checkSchema(this.type, next);
      this.store.commit(this.type, { type: 'MODIFIED', object: next });
      return structuredClone(next);
    });
  }

  delete(name: string, namespace?: string): Promise<boolean> {
    return attempt(() => {
      const stored = this.store.bucket(this.type).get(objectKey(name, this.type.namespaced ? namespace : undefined)) as T | undefined;
      if (!stored) return false;
      const marked = prepareDelete(stored, this.store.nextVersion(), new Date());
      if (marked === stored) return true;
      if (marked) this.store.commit(this.type, { type: 'MODIFIED', object: marked });
      else this.store.commit(this.type, { type: 'DELETED', object: { ...structuredClone(stored), metadata: { ...stored.metadata, resourceVersion: this.store.nextVersion() } } });
      return true;
    });
  }

  watch(opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onEnd: (err?: Error) => void): WatchHandle {
    return this.store.watch(this.type, opts, onEvent as (e: WatchEvent<KubeObject>) => void, onEnd);
  }

  private mustGet(obj: T): T {
    const stored = this.store.bucket(this.type).get(objectKey(obj.metadata.name, this.type.namespaced ? obj.metadata.namespace : undefined));
    if (!stored) throw new NotFoundError(`${displayName(this.type, obj)} not found`);
    return stored as T;
  }
}

/** Runs a synchronous store operation as a promise (errors become rejections). */
function attempt<R>(fn: () => R): Promise<R> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
