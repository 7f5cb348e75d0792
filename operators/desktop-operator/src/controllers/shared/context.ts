import type { Logger } from '../../log';

/** What a reconciler gets with each key: the attempt's id and a logger that carries it. */
export interface ReconcileContext {
  reconcileId: string;
  retries: number;
  log: Logger;
}

/** The object an Event is about. */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

/**
 * Where reconcilers record Events (what `kubectl describe` shows). The production sink
 * writes through the store's recorder and never throws: a lost Event must not fail a
 * reconcile.
 */
export interface EventSink {
  normal(obj: EventSubject, reason: string, message: string): Promise<void>;
  warning(obj: EventSubject, reason: string, message: string): Promise<void>;
}
