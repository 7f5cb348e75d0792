/**
 * The `consolidation` periodic task: build the planner's input from the informers and the
 * gateway's presence, plan, then show the plan (dry-run) or start its first moves (on).
 * It never writes a KvmHost: putting an emptied host in maintenance is the operator's
 * decision, announced with an Event.
 */
import type { DesktopMigration } from '@deskplane/api';
import { AlreadyExistsError } from '@deskplane/resource-store';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { OperatorConfig } from '../config';
import type { DesktopObject, HostObject, MigrationObject } from '../resources';
import { RESOURCE_TYPES } from '../resources';
import type { OperatorView, PeriodicTask } from '../runtime/periodic';
import type { SchedulerConfig } from '../scheduler';
import { isConsolidation, isInFlight, migrationFor, plannerObjects } from './input';
import { planConsolidation, type ConsolidationDesktop, type ConsolidationPlan, type Move } from './plan';

/** Who is connected to a desktop (the gateway's presence in Redis), one desktop per call. */
export type PresenceReader = (namespace: string, name: string) => Promise<{ open: number; lastEndedAt?: number }>;

/**
 * The same for many desktops in one round trip (the activity module's RedisPresenceReader
 * fits). `watchingSince` unset means no gateway writes presence now: no session seen proves
 * nothing, so every desktop counts as busy.
 */
export interface PresenceBatchReader {
  read(desktops: readonly string[], now: number): Promise<{ watchingSince?: number; desktops: ReadonlyMap<string, { open: number }> }>;
}

export interface ConsolidationTaskOptions {
  config: OperatorConfig['consolidation'];
  presence: PresenceReader | PresenceBatchReader;
  /** The manager's host selector: hosts outside it are neither emptied nor filled. Default: every host. */
  owns?: (host: HostObject) => boolean;
  /** The operator's scheduler settings (guest limit, resource weights). */
  scheduler?: SchedulerConfig;
  /** The orchestrator's migration slots (its MIGRATIONS_PER_HOST and MIGRATIONS_GLOBAL); default 2 and 5. */
  migrationLimits?: { perHostOutbound: number; global: number };
  /** Default: packages/api/examples/05-desktopmigration.yaml's (256 MiB/s, auto-converge, 600 s). */
  migrationPolicy?: NonNullable<DesktopMigration['spec']['policy']>;
  /** Where the gauges are registered (the operator's registry); unset: no metrics. */
  registry?: Registry;
}

const PRESENCE_BATCH = 64;

function metricsIn(registry: Registry | undefined) {
  if (!registry) return undefined;
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    moves:
      existing<Gauge>('deskplane_consolidation_planned_moves') ??
      new Gauge({ name: 'deskplane_consolidation_planned_moves', help: 'Live migrations in the last consolidation plan (this pass and later ones).', registers: [registry] }),
    hosts:
      existing<Gauge>('deskplane_consolidation_hosts_emptiable') ??
      new Gauge({ name: 'deskplane_consolidation_hosts_emptiable', help: 'Hosts the last consolidation plan empties.', registers: [registry] }),
    created:
      existing<Counter>('deskplane_consolidation_migrations_created_total') ??
      new Counter({ name: 'deskplane_consolidation_migrations_created_total', help: 'DesktopMigrations created by consolidation (mode on).', registers: [registry] }),
  };
}

export function consolidationTask(o: ConsolidationTaskOptions): PeriodicTask {
  const metrics = metricsIn(o.registry);
  const owns = o.owns ?? (() => true);
  const limits = o.migrationLimits ?? { perHostOutbound: 2, global: 5 };
  // Hosts already told they are empty, so the Event is not repeated every pass (a new leader tells once more).
  const announced = new Set<string>();

  const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

  /** idle per `ns/name`: true (no session), false (sessions), undefined (unknown: counts as busy). */
  async function readPresence(view: OperatorView, keys: readonly string[], signal: AbortSignal): Promise<Map<string, boolean | undefined>> {
    const idle = new Map<string, boolean | undefined>();
    const source = o.presence;
    if (typeof source !== 'function') {
      if (keys.length === 0) return idle;
      try {
        const snap = await source.read(keys, view.now().getTime());
        if (snap.watchingSince === undefined) view.log.warn('consolidation: no gateway writes presence; every desktop counts as busy');
        for (const k of keys) idle.set(k, snap.watchingSince === undefined ? undefined : (snap.desktops.get(k)?.open ?? 0) === 0);
      } catch (e) {
        view.log.warn({ err: errText(e) }, 'consolidation: presence unreadable; every desktop counts as busy');
      }
      return idle;
    }
    for (let i = 0; i < keys.length && !signal.aborted; i += PRESENCE_BATCH) {
      await Promise.all(
        keys.slice(i, i + PRESENCE_BATCH).map(async (key) => {
          const [ns, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
          try {
            idle.set(key, (await source(ns, name)).open === 0);
          } catch (e) {
            // Unknown counts as busy: a desktop is never moved on a guess.
            idle.set(key, undefined);
            view.log.warn({ desktop: key, err: errText(e) }, 'consolidation: presence unreadable');
          }
        }),
      );
    }
    return idle;
  }

  async function announceEmpty(view: OperatorView, hosts: readonly HostObject[], migrations: readonly MigrationObject[], plan: ConsolidationPlan): Promise<void> {
    const emptiedBefore = new Set(migrations.filter((m) => isConsolidation(m) && m.status?.phase === 'Succeeded').map((m) => m.status?.sourceHost));
    const empty = new Set(plan.empty);
    for (const h of hosts) {
      const name = h.metadata.name;
      if (!empty.has(name)) announced.delete(name);
      else if (emptiedBefore.has(name) && !announced.has(name)) {
        announced.add(name);
        await view.events.normal(h, 'ConsolidationHostEmpty', `no desktop left on ${name} after consolidation: it can be put in maintenance (spec.maintenance: true) or powered off`);
      }
    }
  }

  async function dryRun(view: OperatorView, plan: ConsolidationPlan, desktop: (key: string) => DesktopObject | undefined, host: (name: string) => HostObject | undefined): Promise<void> {
    for (const m of [...plan.moves, ...plan.deferred]) {
      const d = desktop(m.desktop);
      if (d) await view.events.normal(d, 'ConsolidationPlanned', `would move from ${m.from} to ${m.to} to empty ${m.from}`);
    }
    for (const name of plan.emptied) {
      const h = host(name);
      const moves = [...plan.moves, ...plan.deferred].filter((m) => m.from === name);
      if (h) await view.events.normal(h, 'ConsolidationPlanned', `would empty ${name}: ${moves.length} idle desktop(s) to ${[...new Set(moves.map((m) => m.to))].join(', ')}`);
    }
  }

  async function start(view: OperatorView, plan: ConsolidationPlan, desktop: (key: string) => DesktopObject | undefined, host: (name: string) => HostObject | undefined, signal: AbortSignal): Promise<void> {
    const client = view.store.client<MigrationObject>(RESOURCE_TYPES.DesktopMigration);
    const started = new Map<string, Move[]>();
    const passAt = view.now();
    for (const m of plan.moves) {
      if (signal.aborted) return;
      const d = desktop(m.desktop);
      if (!d) continue;
      const migration = migrationFor(d, m, passAt, o.migrationPolicy);
      try {
        await client.create(migration);
      } catch (e) {
        if (e instanceof AlreadyExistsError) continue;
        view.log.warn({ desktop: m.desktop, err: errText(e) }, 'consolidation: could not create migration');
        continue;
      }
      metrics?.created.inc();
      started.set(m.from, [...(started.get(m.from) ?? []), m]);
      await view.events.normal(d, 'ConsolidationStarted', `moving from ${m.from} to ${m.to} to empty ${m.from} (DesktopMigration ${migration.metadata.name})`);
    }
    for (const [name, moves] of started) {
      const h = host(name);
      const rest = plan.deferred.filter((m) => m.from === name).length;
      if (h) await view.events.normal(h, 'ConsolidationStarted', `emptying ${name}: ${moves.length} migration(s) started${rest ? `, ${rest} in a later pass` : ''}`);
    }
  }

  return {
    name: 'consolidation',
    intervalMs: o.config.intervalMs,
    async run(view, signal) {
      if (o.config.mode === 'off') return;
      const hosts = view.hosts.list().filter(owns);
      const desktops = view.desktops.list();
      const migrations = view.migrations.list();
      const objects = plannerObjects({ hosts, desktops, migrations, template: (ns, name) => view.templates.get(name, ns) });
      const idle = await readPresence(view, objects.askPresence, signal);
      if (signal.aborted) return;
      const withPresence: ConsolidationDesktop[] = objects.desktops.map((d) => (idle.has(d.key) ? { ...d, idle: idle.get(d.key) } : d));
      const plan = planConsolidation({
        hosts: objects.hosts,
        desktops: withPresence,
        inFlight: objects.inFlight,
        limits: { maxMigrations: o.config.maxMigrations, ...limits },
        ...(o.scheduler ? { scheduler: o.scheduler } : {}),
      });
      metrics?.moves.set(plan.moves.length + plan.deferred.length);
      metrics?.hosts.set(plan.emptied.length);
      view.log.info(
        { task: 'consolidation', mode: o.config.mode, moves: plan.moves, deferred: plan.deferred, emptied: plan.emptied, empty: plan.empty, leftAlone: plan.leftAlone, inFlight: objects.inFlight.length },
        `consolidation plan: ${plan.summary}`,
      );
      const byKey = new Map<string, DesktopObject>(desktops.map((d) => [`${d.metadata.namespace ?? ''}/${d.metadata.name}`, d]));
      const byName = new Map(hosts.map((h) => [h.metadata.name, h] as const));
      const desktop = (k: string) => byKey.get(k);
      const host = (n: string) => byName.get(n);
      if (o.config.mode === 'dry-run') await dryRun(view, plan, desktop, host);
      else await start(view, plan, desktop, host, signal);
      await announceEmpty(view, hosts, migrations.filter((m) => !isInFlight(m)), plan);
    },
  };
}
