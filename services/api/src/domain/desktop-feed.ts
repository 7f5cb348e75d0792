/**
 * One informer over every namespace's desktops, shared by all live subscribers (one watch
 * on the store however many browsers are open). Each subscriber has its own filter; a
 * desktop that leaves a subscriber's view is reported to it as deleted.
 */
import { Informer, type ResourceClient } from '@deskplane/resource-store';
import type { DesktopView } from './desktop-view';
import type { DesktopObject } from './resources';

export interface DesktopEvent {
  type: 'added' | 'modified' | 'deleted';
  desktop: DesktopView;
}

type Filter = (d: DesktopObject) => boolean;
type Emit = (type: DesktopEvent['type'], d: DesktopObject) => void;

interface Subscriber {
  filter: Filter;
  emit: Emit;
}

export class DesktopFeed {
  private informer?: Informer<DesktopObject>;
  private starting?: Promise<void>;
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    private readonly client: ResourceClient<DesktopObject>,
    private readonly resyncMs: number,
  ) {}

  /** Sends the current desktops as `added`, then every change, until stop(). */
  async subscribe(filter: Filter, emit: Emit): Promise<{ stop(): void }> {
    const informer = await this.started();
    const sub: Subscriber = { filter, emit: safe(emit) };
    for (const d of informer.list()) if (filter(d)) sub.emit('added', d);
    this.subscribers.add(sub);
    return { stop: () => void this.subscribers.delete(sub) };
  }

  close(): void {
    this.informer?.stop();
    this.informer = undefined;
    this.starting = undefined;
    this.subscribers.clear();
  }

  /** Subscribers currently attached (tests, metrics). */
  get size(): number {
    return this.subscribers.size;
  }

  private started(): Promise<Informer<DesktopObject>> {
    if (!this.starting) {
      const informer = new Informer(this.client, { resyncMs: this.resyncMs });
      informer.on({
        add: (d) => this.fan((s) => s.filter(d) && s.emit('added', d)),
        update: (old, d) => {
          if (old.metadata.resourceVersion === d.metadata.resourceVersion) return; // a resync, nothing new
          this.fan((s) => {
            const was = s.filter(old);
            const is = s.filter(d);
            if (is) s.emit(was ? 'modified' : 'added', d);
            else if (was) s.emit('deleted', old);
          });
        },
        delete: (d) => this.fan((s) => s.filter(d) && s.emit('deleted', d)),
      });
      this.informer = informer;
      this.starting = informer.start().catch((err: unknown) => {
        this.starting = undefined;
        throw err;
      });
    }
    const informer = this.informer!;
    return this.starting.then(() => informer);
  }

  private fan(fn: (s: Subscriber) => unknown): void {
    for (const s of this.subscribers) fn(s);
  }
}

/** A throwing subscriber (a closed socket) must not stop the others from hearing the event. */
function safe(emit: Emit): Emit {
  return (type, d) => {
    try {
      emit(type, d);
    } catch {
      // The subscriber's own transport reports its failure; the feed carries on.
    }
  };
}
