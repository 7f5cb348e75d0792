/**
 * The manager: informers for the kinds (warm on every replica), one controller per kind
 * whose workers run only while this replica holds the leader Lease, the event handlers
 * that map changes onto work-queue keys, metrics and health.
 *
 * @example
 * const manager = new Manager({ store, jobs: new BullJobQueue(redis), probe: new GrpcHostAgentProbe(), config });
 * await manager.start();   // caches synced, leader election running
 * // … SIGTERM:
 * await manager.stop();    // workers drained, lease released
 */
import { getCondition, ConditionType, TERMINAL_MIGRATION_PHASES } from '@deskplane/api';
import type { JobQueue } from '@deskplane/queue-contracts';
import { Informer, LeaderElector, type KubeObject, type ResourceStore } from '@deskplane/resource-store';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OperatorConfig } from './config';
import { DesktopMigrationReconciler } from './controllers/desktop-migration/reconciler';
import { DesktopPolicyReconciler } from './controllers/desktop-policy/reconciler';
import { DesktopPoolReconciler, TENANT_TYPE, type TenantObject } from './controllers/desktop-pool/reconciler';
import { poolChangeMatters, poolKeysForDesktop, poolsOfTemplate } from './controllers/desktop-pool/watch';
import { DRAIN_LABEL, drainLabelValue } from './controllers/kvm-host/drain';
import { KvmHostReconciler } from './controllers/kvm-host/reconciler';
import type { HostAgentProbe } from './controllers/kvm-host/probe';
import type { EventSink, ReconcileContext } from './controllers/shared/context';
import { Mutex, PlacementLedger } from './controllers/shared/placement';
import { sameJson } from './controllers/shared/status';
import { VirtualDesktopReconciler } from './controllers/virtual-desktop/reconciler';
import { createLogger, type Logger } from './log';
import { OperatorMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { keyOf, RESOURCE_TYPES, type DesktopObject, type HostObject, type MigrationObject, type PolicyObject, type PoolObject, type TemplateObject } from './resources';
import { Controller, type ReconcileResult } from './runtime/controller';
import type { OperatorView, PeriodicTask } from './runtime/periodic';

export type ManagerConfig = Pick<
  OperatorConfig,
  'watchNamespace' | 'hostSelector' | 'lease' | 'identity' | 'metrics' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'heartbeatGraceMs' | 'unschedulableRetryMs' | 'resyncMs' | 'workers' | 'scheduler'
> & { deprovisionPollMs?: number };

export interface ManagerOptions {
  store: ResourceStore;
  jobs: JobQueue;
  probe: HostAgentProbe;
  config: ManagerConfig;
  log?: Logger;
  metrics?: OperatorMetrics;
  now?: () => Date;
  /** Called when leadership is lost while running (not on stop()). main.ts exits the process. */
  onLostLeadership?: () => void;
  /** Periodic passes (activity, consolidation): run on the leader only, started and stopped with the controllers. */
  tasks?: PeriodicTask[];
}

type Reconciler = { reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> };
const NAMES = ['kvmhost', 'virtualdesktop', 'desktopmigration', 'desktoppolicy', 'desktoppool'] as const;
type ControllerName = (typeof NAMES)[number];

export class Manager {
  readonly log: Logger;
  readonly metrics: OperatorMetrics;
  readonly hosts: Informer<HostObject>;
  readonly desktops: Informer<DesktopObject>;
  readonly templates: Informer<TemplateObject>;
  readonly migrations: Informer<MigrationObject>;
  readonly policies: Informer<PolicyObject>;
  readonly pools: Informer<PoolObject>;
  private readonly reconcilers: Record<ControllerName, Reconciler>;
  private controllers?: Map<ControllerName, Controller>;
  private controllersStopping?: Promise<void>;
  private readonly view: OperatorView;
  private tasks?: { abort: AbortController; done: Promise<void> };
  private readonly elector: LeaderElector;
  private metricsServer?: MetricsServer;
  private stopping = false;
  private synced = false;

  constructor(private readonly o: ManagerOptions) {
    const c = o.config;
    this.log = o.log ?? createLogger({ base: { identity: o.config.identity } });
    this.metrics = o.metrics ?? new OperatorMetrics();
    const now = o.now ?? (() => new Date());
    const ns = c.watchNamespace !== undefined ? { namespace: c.watchNamespace } : {};
    const informerOpts = { resyncMs: c.resyncMs, onError: (err: Error) => this.log.warn({ err: err.message }, 'watch ended; resuming') };
    const client = <T extends KubeObject>(t: (typeof RESOURCE_TYPES)[keyof typeof RESOURCE_TYPES]) => o.store.client<T>(t);
    this.hosts = new Informer(client<HostObject>(RESOURCE_TYPES.KvmHost), informerOpts);
    this.desktops = new Informer(client<DesktopObject>(RESOURCE_TYPES.VirtualDesktop), { ...informerOpts, ...ns });
    this.templates = new Informer(client<TemplateObject>(RESOURCE_TYPES.DesktopTemplate), { ...informerOpts, ...ns });
    this.migrations = new Informer(client<MigrationObject>(RESOURCE_TYPES.DesktopMigration), { ...informerOpts, ...ns });
    this.policies = new Informer(client<PolicyObject>(RESOURCE_TYPES.DesktopPolicy), { ...informerOpts, ...ns });
    this.pools = new Informer(client<PoolObject>(RESOURCE_TYPES.DesktopPool), { ...informerOpts, ...ns });

    const events = this.eventSink();
    const owns = (h: HostObject): boolean => Object.entries(c.hostSelector ?? {}).every(([k, v]) => h.metadata.labels?.[k] === v);
    const ledger = new PlacementLedger();
    const schedulingLock = new Mutex();
    const shared = { events, now, owns, scheduler: c.scheduler, ledger, schedulingLock, unschedulableRetryMs: c.unschedulableRetryMs };
    const informers = { hosts: this.hosts, desktops: this.desktops, templates: this.templates, migrations: this.migrations };
    this.reconcilers = {
      kvmhost: new KvmHostReconciler({ hosts: this.hosts, desktops: this.desktops, migrations: this.migrations, client: client(RESOURCE_TYPES.KvmHost), migrationClient: client(RESOURCE_TYPES.DesktopMigration), probe: o.probe, events, now, owns, heartbeatIntervalMs: c.heartbeatIntervalMs, heartbeatTimeoutMs: c.heartbeatTimeoutMs, heartbeatGraceMs: c.heartbeatGraceMs }),
      virtualdesktop: new VirtualDesktopReconciler({ ...informers, ...shared, client: client(RESOURCE_TYPES.VirtualDesktop), jobs: o.jobs, deprovisionPollMs: c.deprovisionPollMs ?? 2_000 }),
      desktopmigration: new DesktopMigrationReconciler({
        ...informers,
        ...shared,
        client: client(RESOURCE_TYPES.DesktopMigration),
        desktopClient: client(RESOURCE_TYPES.VirtualDesktop),
        hostClient: client(RESOURCE_TYPES.KvmHost),
        jobs: o.jobs,
      }),
      desktoppolicy: new DesktopPolicyReconciler({ policies: this.policies, client: client(RESOURCE_TYPES.DesktopPolicy), events, now }),
      desktoppool: new DesktopPoolReconciler({
        pools: this.pools,
        templates: this.templates,
        client: client(RESOURCE_TYPES.DesktopPool),
        desktopClient: client(RESOURCE_TYPES.VirtualDesktop),
        tenantClient: o.store.client<TenantObject>(TENANT_TYPE),
        events,
        now,
        gauges: this.metrics,
        blockedRetryMs: c.unschedulableRetryMs,
      }),
    };
    const { hosts, desktops, templates, migrations, policies, pools } = this;
    this.view = { hosts, desktops, templates, migrations, policies, pools, store: o.store, events, now, log: this.log };
    this.wireHandlers(ledger);

    this.elector = new LeaderElector(o.store.leases, {
      name: c.lease.name,
      namespace: c.lease.namespace,
      identity: c.identity,
      leaseDurationMs: c.lease.durationMs,
      renewDeadlineMs: c.lease.renewDeadlineMs,
      retryPeriodMs: c.lease.retryPeriodMs,
      onStartedLeading: () => this.startControllers(),
      onStoppedLeading: () => {
        void this.stopControllers().then(() => {
          if (!this.stopping) {
            this.log.error('lost leadership');
            o.onLostLeadership?.();
          }
        });
      },
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  get metricsUrl(): string | undefined {
    return this.metricsServer?.url;
  }

  /** Fills the caches, then joins leader election; workers start when this replica leads. */
  async start(): Promise<void> {
    if (this.o.config.metrics) {
      this.metricsServer = await startMetricsServer(this.o.config.metrics, this.metrics, () => ({ ok: this.synced, synced: this.synced, leader: this.isLeader, identity: this.o.config.identity }));
    }
    await Promise.all([this.hosts, this.desktops, this.templates, this.migrations, this.policies, this.pools].map((i) => i.start()));
    this.synced = true;
    this.log.info({ lease: `${this.o.config.lease.namespace}/${this.o.config.lease.name}`, metricsUrl: this.metricsUrl }, 'caches synced; joining leader election');
    this.elector.start();
  }

  /** Drains the workers, releases the lease (another replica takes over at once), stops the informers. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopControllers();
    await this.elector.stop();
    await this.controllersStopping;
    for (const i of [this.hosts, this.desktops, this.templates, this.migrations, this.policies, this.pools]) i.stop();
    await this.metricsServer?.close();
    this.log.info('stopped');
  }

  /** Adds a key to a controller's queue; dropped while this replica does not lead (leading starts with a full resync). */
  enqueue(name: ControllerName, key: string): void {
    this.controllers?.get(name)?.enqueue(key);
  }

  private startControllers(): void {
    if (this.controllers || this.stopping) return;
    this.log.info('became leader; starting workers');
    this.metrics.leader.set(1);
    const controllers = new Map<ControllerName, Controller>();
    for (const name of NAMES) {
      const reconciler = this.reconcilers[name];
      const controller = new Controller(
        name,
        (key, ctx) => reconciler.reconcile(key, { ...ctx, log: this.log.child({ controller: name, key, reconcileId: ctx.reconcileId }) }),
        {
          workers: this.o.config.workers,
          hooks: {
            onReconciled: (e) => {
              this.metrics.observe(e);
              const fields = { controller: e.controller, key: e.key, reconcileId: e.reconcileId, outcome: e.outcome, durationMs: Math.round(e.durationMs) };
              if (e.outcome === 'error') this.log.warn({ ...fields, err: errText(e.error) }, 'reconcile failed; retrying with backoff');
              else if (e.outcome === 'terminal') this.log.info({ ...fields, err: errText(e.error) }, 'reconcile stopped: terminal error');
              else this.log.debug(fields, 'reconciled');
            },
          },
        },
      );
      this.metrics.trackQueue(name, () => controller.queue.length);
      controllers.set(name, controller);
      controller.start();
    }
    this.controllers = controllers;
    for (const h of this.hosts.list()) this.enqueue('kvmhost', keyOf(h));
    for (const d of this.desktops.list()) this.enqueue('virtualdesktop', keyOf(d));
    for (const m of this.migrations.list()) this.enqueue('desktopmigration', keyOf(m));
    for (const p of this.policies.list()) this.enqueue('desktoppolicy', keyOf(p));
    for (const p of this.pools.list()) this.enqueue('desktoppool', keyOf(p));
    this.startTasks();
  }

  /** Each task: a pass, then intervalMs of rest, until aborted; never two passes of one task at once. */
  private startTasks(): void {
    const tasks = this.o.tasks ?? [];
    if (!tasks.length) return;
    const abort = new AbortController();
    const loop = async (task: PeriodicTask): Promise<void> => {
      const log = this.log.child({ task: task.name });
      const view = { ...this.view, log };
      while (!abort.signal.aborted) {
        const started = performance.now();
        try {
          await task.run(view, abort.signal);
          this.metrics.observeTask(task.name, 'success', performance.now() - started);
        } catch (e) {
          this.metrics.observeTask(task.name, 'error', performance.now() - started);
          if (!abort.signal.aborted) log.warn({ err: errText(e) }, 'periodic task pass failed; next pass on schedule');
        }
        await sleep(task.intervalMs, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    };
    this.tasks = { abort, done: Promise.all(tasks.map(loop)).then(() => undefined) };
    this.log.info({ tasks: tasks.map((t) => `${t.name}/${t.intervalMs}ms`) }, 'periodic tasks started');
  }

  private stopControllers(): Promise<void> {
    const controllers = this.controllers;
    if (!controllers) return this.controllersStopping ?? Promise.resolve();
    this.controllers = undefined;
    this.metrics.leader.set(0);
    const tasks = this.tasks;
    this.tasks = undefined;
    tasks?.abort.abort();
    this.controllersStopping = Promise.all([...[...controllers.values()].map((c) => c.stop()), tasks?.done]).then(() => undefined);
    return this.controllersStopping;
  }

  private wireHandlers(ledger: PlacementLedger): void {
    const unplaced = (namespace?: string, template?: string) => {
      for (const d of this.desktops.list(namespace)) {
        if (!d.status?.host && (!template || d.spec.templateRef.name === template)) this.enqueue('virtualdesktop', keyOf(d));
      }
    };
    const waitingMigrations = () => {
      for (const m of this.migrations.list()) if (!m.status?.phase || m.status.phase === 'Pending' || m.status.phase === 'Scheduling') this.enqueue('desktopmigration', keyOf(m));
    };
    const desktopsOn = (host: string) => {
      for (const d of this.desktops.list()) if (d.status?.host === host) this.enqueue('virtualdesktop', keyOf(d));
    };
    const hostsChanged = () => {
      unplaced();
      waitingMigrations();
    };
    this.hosts.on({
      add: (h) => {
        this.enqueue('kvmhost', keyOf(h));
        hostsChanged();
      },
      update: (old, h) => {
        // Our own heartbeat writes change status only: they must not wake the host loop (it polls by requeue-after).
        const resync = old.metadata.resourceVersion === h.metadata.resourceVersion;
        if (resync || old.metadata.generation !== h.metadata.generation || !sameJson(old.metadata.labels, h.metadata.labels) || old.metadata.deletionTimestamp !== h.metadata.deletionTimestamp) {
          this.enqueue('kvmhost', keyOf(h));
        }
        if (!sameJson(schedulingView(old), schedulingView(h))) hostsChanged();
        // Its desktops react to the host's readiness (NotReady: mark or evict; Ready: recover, run strategy).
        if (readyOf(old) !== readyOf(h)) desktopsOn(h.metadata.name);
      },
      delete: () => hostsChanged(),
    });
    // Migrations waiting for their desktop (placement) look again when it changes; every
    // unfinished one looks again when the desktop is deleted (it fails: DesktopNotFound / DesktopDeleting).
    const migrationsOf = (d: DesktopObject, all = false) => {
      for (const m of this.migrations.list(d.metadata.namespace)) {
        if (m.spec.desktopName !== d.metadata.name) continue;
        const phase = m.status?.phase;
        if (!phase || phase === 'Pending' || (all && !TERMINAL_MIGRATION_PHASES.includes(phase))) this.enqueue('desktopmigration', keyOf(m));
      }
    };
    // A host in maintenance re-plans its drain when a desktop leaves it or finishes provisioning there
    // (it also does on every heartbeat; this only makes Drained prompt).
    const drainingHost = (name: string | undefined) => {
      const h = name ? this.hosts.get(name) : undefined;
      if (h?.spec.maintenance) this.enqueue('kvmhost', keyOf(h));
    };
    const pools = (old: DesktopObject | undefined, d: DesktopObject | undefined) => {
      for (const k of poolKeysForDesktop(old, d)) this.enqueue('desktoppool', k);
    };
    this.desktops.on({ add: (d) => pools(undefined, d), update: (old, d) => pools(old, d), delete: (d) => pools(d, undefined) });
    this.desktops.on({
      add: (d) => {
        this.enqueue('virtualdesktop', keyOf(d));
        migrationsOf(d);
      },
      update: (old, d) => {
        this.enqueue('virtualdesktop', keyOf(d));
        if (old.status?.host !== d.status?.host) migrationsOf(d);
        if (!old.metadata.deletionTimestamp && d.metadata.deletionTimestamp) migrationsOf(d, true);
        if (old.status?.host !== d.status?.host || old.status?.phase !== d.status?.phase) {
          drainingHost(old.status?.host);
          drainingHost(d.status?.host);
        }
      },
      delete: (d) => {
        ledger.forget(d.metadata.uid ?? keyOf(d));
        migrationsOf(d, true);
        drainingHost(d.status?.host);
        if (d.status?.host) hostsChanged(); // capacity freed
      },
    });
    this.templates.on({
      add: (t) => unplaced(t.metadata.namespace, t.metadata.name),
      update: (_, t) => unplaced(t.metadata.namespace, t.metadata.name),
    });
    const poolsOf = (t: TemplateObject) => {
      for (const k of poolsOfTemplate(this.pools.list(t.metadata.namespace), t)) this.enqueue('desktoppool', k);
    };
    this.templates.on({ add: poolsOf, update: (_, t) => poolsOf(t), delete: poolsOf });
    this.pools.on({
      add: (p) => this.enqueue('desktoppool', keyOf(p)),
      update: (old, p) => {
        if (poolChangeMatters(old, p)) this.enqueue('desktoppool', keyOf(p));
      },
      delete: (p) => this.enqueue('desktoppool', keyOf(p)),
    });
    // A drain migration that changes phase or goes away may change its host's Drained message.
    const drainOf = (m: MigrationObject) => {
      const label = m.metadata.labels?.[DRAIN_LABEL];
      if (label) for (const h of this.hosts.list()) if (h.spec.maintenance && drainLabelValue(h.metadata.name) === label) this.enqueue('kvmhost', keyOf(h));
    };
    this.migrations.on({
      add: (m) => this.enqueue('desktopmigration', keyOf(m)),
      update: (old, m) => {
        this.enqueue('desktopmigration', keyOf(m));
        if (old.status?.phase !== m.status?.phase) drainOf(m);
      },
      delete: (m) => {
        ledger.forget(`migration:${m.metadata.uid ?? m.metadata.name}`);
        drainOf(m);
      },
    });
    this.policies.on({
      add: (p) => this.enqueue('desktoppolicy', keyOf(p)),
      update: (_, p) => this.enqueue('desktoppolicy', keyOf(p)),
    });
  }

  private eventSink(): EventSink {
    const record = async (obj: Parameters<EventSink['normal']>[0], type: 'Normal' | 'Warning', reason: string, message: string) => {
      try {
        await this.o.store.events.record(obj, type, reason, message);
      } catch (e) {
        this.log.warn({ err: errText(e), reason, object: keyOf(obj) }, 'could not record event');
      }
    };
    return { normal: (o, r, m) => record(o, 'Normal', r, m), warning: (o, r, m) => record(o, 'Warning', r, m) };
  }
}

function readyOf(h: HostObject): string | undefined {
  return getCondition(h.status?.conditions, ConditionType.Ready)?.status;
}

/** What about a host matters to scheduling; a change wakes the desktops still waiting for one. */
function schedulingView(h: HostObject): unknown {
  return {
    ready: getCondition(h.status?.conditions, ConditionType.Ready)?.status,
    schedulable: h.spec.schedulable,
    maintenance: h.spec.maintenance,
    allocatable: h.status?.allocatable,
    allocated: h.status?.allocated,
    labels: h.metadata.labels,
    deleting: h.metadata.deletionTimestamp,
  };
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
