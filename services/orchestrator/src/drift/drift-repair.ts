/**
 * Drift repair, the I/O part: every `intervalMs` one replica (Redis pass lock) reads the
 * desktops and migrations, then each KvmHost's guests (ListGuests), asks `decideDrift`
 * what to do, and does it:
 *
 * - `reportOrphan` → Warning Event `OrphanGuest` on the KvmHost;
 * - `deleteOrphan` → DeleteGuest on that host's agent, Event `OrphanGuestDeleted`;
 * - `repairMissing` → checked again (GetGuest; the desktop re-read), annotation
 *   `deskplane.io/repairs` bumped, a provision job `provision.<uid>.g<gen>.r<n>` enqueued,
 *   Warning Event `GuestMissing` on the desktop. The provision processor does the rest.
 *
 * Desktops and migrations are read before the guests: a guest that appears in between
 * (a migration landing) is at worst an orphan for one pass, never deleted (the grace).
 */
import { QUEUES, type JobQueue } from '@deskplane/queue-contracts';
import type { EventRecorder, ResourceClient } from '@deskplane/resource-store';
import type { Logger } from 'pino';
import type { HostAgents } from '../agents';
import { errorMessage } from '../errors';
import type { OrchestratorMetrics } from '../metrics';
import { writeMeta, type DesktopObject, type HostObject, type MigrationObject, type TemplateObject } from '../resources';
import { decideDrift, type DriftAction, type HostGuests } from './decide';
import type { DriftState } from './drift-state';
import { REPAIRS_ANNOTATION, repairJob, repairJobId, repairsOf } from './repair-job';

export interface DriftRepairOptions {
  intervalMs: number;
  orphanGraceMs: number;
  /** Only KvmHosts with these labels are looked after (default: all). */
  hostSelector?: Record<string, string>;
  /** Holder of the pass lock (the orchestrator's identity). */
  identity: string;
}

export interface DriftRepairDeps {
  hosts: ResourceClient<HostObject>;
  desktops: ResourceClient<DesktopObject>;
  migrations: ResourceClient<MigrationObject>;
  templates: ResourceClient<TemplateObject>;
  agents: HostAgents;
  jobs: Pick<JobQueue, 'enqueue' | 'state'>;
  events: EventRecorder;
  state: DriftState;
  log: Logger;
  metrics?: OrchestratorMetrics;
  now?: () => number;
}

export interface DriftPassResult {
  hosts: string[];
  /** Hosts whose agent could not list its guests (nothing decided about them). */
  unreachable: string[];
  actions: Array<DriftAction & { result: 'done' | 'skipped' | 'failed'; detail?: string }>;
}

const IN_FLIGHT = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
const domain = (uid: string) => `dp-${uid}`;
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

export class DriftRepair {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly o: DriftRepairOptions,
    private readonly d: DriftRepairDeps,
  ) {
    this.now = d.now ?? Date.now;
  }

  /** Runs a pass every intervalMs (the first one interval after start) until stop(). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((e: unknown) => this.d.log.warn({ err: errorMessage(e) }, 'drift pass failed'))
        .finally(() => this.schedule());
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass; undefined when another replica holds the pass lock. */
  async runOnce(): Promise<DriftPassResult | undefined> {
    const lockMs = Math.max(2 * this.o.intervalMs, 30_000);
    if (!(await this.d.state.tryLock(this.o.identity, lockMs))) {
      this.d.metrics?.driftPasses.inc({ result: 'skipped' });
      return undefined;
    }
    try {
      const result = await this.pass();
      this.d.metrics?.driftPasses.inc({ result: 'done' });
      return result;
    } catch (e) {
      this.d.metrics?.driftPasses.inc({ result: 'failed' });
      throw e;
    } finally {
      await this.d.state.unlock(this.o.identity).catch(() => undefined);
    }
  }

  private async pass(): Promise<DriftPassResult> {
    const [hosts, desktops, migrations] = await Promise.all([
      this.d.hosts.list(this.o.hostSelector ? { labelSelector: this.o.hostSelector } : {}),
      this.d.desktops.list(),
      this.d.migrations.list(),
    ]);
    const live = hosts.items.filter((h) => !h.metadata.deletionTimestamp && h.metadata.name);
    const listed = await Promise.all(live.map((h) => this.listGuests(h.metadata.name)));
    const ok = listed.filter((x): x is HostGuests => x !== undefined);
    const sightings = await this.d.state.sightings();
    const input = { hosts: ok, desktops: desktops.items, migrations: migrations.items, sightings, now: this.now(), orphanGraceMs: this.o.orphanGraceMs };
    // Repairs already queued are not queued again: look only at the desktops that would be repaired.
    const wanted = decideDrift({ ...input, repairsInFlight: new Set() }).actions.filter((a) => a.kind === 'repairMissing');
    const plan = decideDrift({ ...input, repairsInFlight: await this.repairsInFlight(wanted, desktops.items) });

    const byName = new Map(live.map((h) => [h.metadata.name, h]));
    const results: DriftPassResult['actions'] = [];
    for (const a of plan.actions) {
      const r = await this.apply(a, byName.get(a.host)!).catch((e: unknown) => ({ result: 'failed' as const, detail: errorMessage(e) }));
      this.d.metrics?.driftActions.inc({ action: a.kind, result: r.result });
      this.d.log[r.result === 'failed' ? 'warn' : 'info']({ drift: a.kind, host: a.host, uid: a.kind === 'repairMissing' ? a.desktop.uid : a.uid, ...r }, `drift: ${a.kind} ${r.result}`);
      results.push({ ...a, ...r });
    }
    await this.d.state.saveSightings(plan.sightings, sightings);
    return { hosts: ok.map((h) => h.host), unreachable: live.map((h) => h.metadata.name).filter((n) => !ok.some((h) => h.host === n)), actions: results };
  }

  private async listGuests(host: string): Promise<HostGuests | undefined> {
    try {
      const guests = await (await this.d.agents.forHost(host)).listGuests();
      return { host, guests: guests.map((g) => g.desktopUid) };
    } catch (e) {
      this.d.log.warn({ host, err: errorMessage(e) }, 'drift: cannot list the guests of this host; skipping it this pass');
      return undefined;
    }
  }

  private async repairsInFlight(wanted: DriftAction[], desktops: readonly DesktopObject[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const a of wanted) {
      if (a.kind !== 'repairMissing') continue;
      const vd = desktops.find((d) => d.metadata.uid === a.desktop.uid);
      const n = vd ? repairsOf(vd) : 0;
      if (!vd || n === 0) continue;
      const state = await this.d.jobs.state(QUEUES.lifecycle, repairJobId({ uid: a.desktop.uid, generation: vd.metadata.generation ?? 1 }, n));
      if (state && IN_FLIGHT.has(state)) out.add(a.desktop.uid);
    }
    return out;
  }

  private async apply(a: DriftAction, host: HostObject): Promise<{ result: 'done' | 'skipped'; detail?: string }> {
    switch (a.kind) {
      case 'reportOrphan':
        await this.d.events.record(host, 'Warning', 'OrphanGuest', `guest ${domain(a.uid)} on ${a.host} belongs to no desktop here (${a.why}); it is deleted after ${seconds(this.o.orphanGraceMs)} unless a desktop claims it`);
        return { result: 'done' };
      case 'deleteOrphan': {
        const existed = await (await this.d.agents.forHost(a.host)).deleteGuest(a.uid);
        if (existed) await this.d.events.record(host, 'Normal', 'OrphanGuestDeleted', `deleted guest ${domain(a.uid)} (disk included), an orphan for ${seconds(a.orphanForMs)}: ${a.why}`);
        return { result: 'done', detail: existed ? 'deleted' : 'already gone' };
      }
      case 'repairMissing':
        return this.repair(a);
    }
  }

  private async repair(a: Extract<DriftAction, { kind: 'repairMissing' }>): Promise<{ result: 'done' | 'skipped'; detail?: string }> {
    const { namespace, name, uid } = a.desktop;
    if (await (await this.d.agents.forHost(a.host)).getGuest(uid)) return { result: 'skipped', detail: 'the guest is there again' };
    const vd = await this.d.desktops.get(name, namespace);
    if (!vd || vd.metadata.uid !== uid || vd.metadata.deletionTimestamp || vd.status?.host !== a.host || vd.status.phase !== a.phase || vd.status.migrationRef) {
      return { result: 'skipped', detail: 'the desktop changed since the pass read it' };
    }
    const template = await this.d.templates.get(vd.spec.templateRef.name, namespace);
    if (!template) {
      await this.d.events.record(vd, 'Warning', 'GuestMissing', `guest ${domain(uid)} is gone from ${a.host}; cannot re-provision it: template ${vd.spec.templateRef.name} not found`);
      return { result: 'skipped', detail: 'template not found' };
    }
    let n = 0;
    await writeMeta(this.d.desktops, { namespace, name, uid }, (m) => {
      n = repairsOf({ metadata: m }) + 1;
      return { ...m, annotations: { ...m.annotations, [REPAIRS_ANNOTATION]: String(n) } };
    });
    const job = repairJob(vd, template, a.host, a.phase, n);
    await this.d.jobs.enqueue(job);
    await this.d.events.record(vd, 'Warning', 'GuestMissing', `guest ${domain(uid)} is gone from ${a.host} while the desktop was ${a.phase}; re-provisioning it there (repair ${n}, job ${job.jobId})`);
    return { result: 'done', detail: job.jobId };
  }
}
