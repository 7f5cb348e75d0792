/**
 * Work that is not one object's reconcile but a look across many on a timer: releasing
 * floating desktops after logout, stopping idle ones, consolidating hosts. A task runs on
 * the leader only (started and stopped with the controllers), one pass at a time; a pass
 * that throws is logged and the next one runs on schedule.
 */
import type { Informer, ResourceStore } from '@deskplane/resource-store';
import type { Logger } from 'pino';
import type { EventSink } from '../controllers/shared/context';
import type { DesktopObject, HostObject, MigrationObject, PolicyObject, PoolObject, TemplateObject } from '../resources';

/** What a task sees: the manager's warm informers, the store to write with, events, a clock. */
export interface OperatorView {
  hosts: Informer<HostObject>;
  desktops: Informer<DesktopObject>;
  templates: Informer<TemplateObject>;
  migrations: Informer<MigrationObject>;
  policies: Informer<PolicyObject>;
  pools: Informer<PoolObject>;
  store: ResourceStore;
  events: EventSink;
  now: () => Date;
  log: Logger;
}

export interface PeriodicTask {
  /** For logs and metrics: `activity`, `consolidation`. */
  name: string;
  intervalMs: number;
  /** One pass. `signal` aborts when leadership is lost or the manager stops. */
  run(view: OperatorView, signal: AbortSignal): Promise<void>;
}
