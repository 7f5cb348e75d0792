/**
 * Platform operations: hosts (capacity, allocations, guests; drain and undrain through
 * `spec.maintenance`), live migrations (start = a DesktopMigration, abort = delete it),
 * queue statistics and the audit log. Every method is for platform ops only, checked
 * before anything is read, so a refusal says nothing about the target.
 */
import { randomBytes } from 'node:crypto';
import { API_VERSION, TERMINAL_MIGRATION_PHASES, validateDesktopMigration, type HostResources, type HypervisorInfo, type MigrationPhase, type MigrationPolicy } from '@deskplane/api';
import { AlreadyExistsError, retryOnConflict } from '@deskplane/resource-store';
import { audit, checkLabel, checkName, requireOps, type AuditSink } from './access';
import type { AuditEntry, AuditReader } from './audit';
import type { Caller } from './caller';
import { BadRequest, Conflict, NotFound } from './errors';
import type { QueueCounts, QueueStats } from './queue-stats';
import { Unavailable } from './unavailable';
import { clients, type HostObject, type MigrationObject, type StoreClients } from './resources';

export interface HostView {
  name: string;
  labels: Record<string, string>;
  agentEndpoint: string;
  ready: boolean;
  /** Ready condition's reason and message (why not ready). */
  readyReason?: string;
  readyMessage?: string;
  schedulable: boolean;
  maintenance: boolean;
  drained: boolean;
  drainMessage?: string;
  capacity?: HostResources;
  allocatable?: HostResources;
  allocated?: HostResources;
  /** Guests the agent reports on the host. */
  guestCount?: number;
  /** Desktops the control plane has placed on the host. */
  desktops: number;
  heartbeatTime?: string;
  hypervisor?: HypervisorInfo;
}

export interface MigrationView {
  name: string;
  tenant: string;
  desktop: string;
  phase: MigrationPhase;
  sourceHost?: string;
  targetHost?: string;
  progressPercent?: number;
  bytesProcessed?: number;
  bytesRemaining?: number;
  downtimeMs?: number;
  startTime?: string;
  endTime?: string;
  /** Why it failed or waits (Ready / Progressing message). */
  message?: string;
  /** Deletion was requested while it was migrating: the orchestrator is aborting it. */
  aborting: boolean;
  createdAt?: string;
}

export interface StartMigration {
  tenant: unknown;
  desktop: unknown;
  targetHost?: unknown;
  policy?: unknown;
}

export interface OpsDeps {
  store: StoreClients;
  queues?: QueueStats;
  auditLog?: AuditReader;
  /** Where ops actions (drain, migrations) are recorded. */
  audit?: AuditSink;
}

export const MAX_AUDIT_LIMIT = 1000;

function hostView(h: HostObject, desktops: number): HostView {
  const cond = (type: string) => h.status?.conditions?.find((c) => c.type === type);
  const ready = cond('Ready');
  const drained = cond('Drained');
  const s = h.status ?? {};
  return {
    name: h.metadata.name,
    labels: { ...(h.metadata.labels ?? {}) },
    agentEndpoint: h.spec.agentEndpoint,
    ready: ready?.status === 'True',
    ...(ready && ready.status !== 'True' ? { readyReason: ready.reason, readyMessage: ready.message } : {}),
    schedulable: h.spec.schedulable ?? true,
    maintenance: h.spec.maintenance ?? false,
    drained: drained?.status === 'True',
    ...(h.spec.maintenance && drained?.message ? { drainMessage: drained.message } : {}),
    ...(s.capacity ? { capacity: s.capacity } : {}),
    ...(s.allocatable ? { allocatable: s.allocatable } : {}),
    ...(s.allocated ? { allocated: s.allocated } : {}),
    ...(s.guestCount !== undefined ? { guestCount: s.guestCount } : {}),
    desktops,
    ...(s.heartbeatTime ? { heartbeatTime: s.heartbeatTime } : {}),
    ...(s.hypervisor ? { hypervisor: s.hypervisor } : {}),
  };
}

export function migrationView(m: MigrationObject): MigrationView {
  const s = m.status ?? {};
  const why = s.conditions?.find((c) => c.type === 'Ready' && c.status === 'False') ?? s.conditions?.find((c) => c.type === 'Progressing');
  return {
    name: m.metadata.name,
    tenant: m.metadata.namespace ?? '',
    desktop: m.spec.desktopName,
    phase: s.phase ?? 'Pending',
    ...(s.sourceHost ? { sourceHost: s.sourceHost } : {}),
    ...((s.targetHost ?? m.spec.targetHost) ? { targetHost: s.targetHost ?? m.spec.targetHost } : {}),
    ...(s.progressPercent !== undefined ? { progressPercent: s.progressPercent } : {}),
    ...(s.bytesProcessed !== undefined ? { bytesProcessed: s.bytesProcessed } : {}),
    ...(s.bytesRemaining !== undefined ? { bytesRemaining: s.bytesRemaining } : {}),
    ...(s.downtimeMs !== undefined ? { downtimeMs: s.downtimeMs } : {}),
    ...(s.startTime ? { startTime: s.startTime } : {}),
    ...(s.endTime ? { endTime: s.endTime } : {}),
    ...(why?.message ? { message: why.message } : {}),
    aborting: m.metadata.deletionTimestamp !== undefined,
    ...(m.metadata.creationTimestamp ? { createdAt: m.metadata.creationTimestamp } : {}),
  };
}

const unfinished = (m: MigrationObject): boolean => !TERMINAL_MIGRATION_PHASES.includes(m.status?.phase ?? 'Pending');

export class Ops {
  private readonly c;

  constructor(private readonly deps: OpsDeps) {
    this.c = clients(deps.store);
  }

  async hosts(caller: Caller): Promise<HostView[]> {
    requireOps(caller, 'the host list');
    const [hosts, desktops] = await Promise.all([this.c.hosts.list(), this.c.desktops.list()]);
    const placed = new Map<string, number>();
    for (const d of desktops.items) if (d.status?.host) placed.set(d.status.host, (placed.get(d.status.host) ?? 0) + 1);
    return hosts.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map((h) => hostView(h, placed.get(h.metadata.name) ?? 0));
  }

  async host(caller: Caller, name: string): Promise<HostView> {
    requireOps(caller, 'host details');
    return this.hostByName(name);
  }

  /** Maintenance on: the operator live-migrates the host's desktops away (Drained once empty). */
  drain(caller: Caller, name: string): Promise<HostView> {
    return this.setMaintenance(caller, name, true);
  }

  /** Maintenance off: unstarted drain migrations are cancelled, the host takes desktops again. */
  undrain(caller: Caller, name: string): Promise<HostView> {
    return this.setMaintenance(caller, name, false);
  }

  async migrations(caller: Caller, opts: { tenant?: string; desktop?: string } = {}): Promise<MigrationView[]> {
    requireOps(caller, 'the migration list');
    const tenant = opts.tenant === undefined ? undefined : checkLabel(opts.tenant, 'tenant');
    const { items } = await this.c.migrations.list(tenant !== undefined ? { namespace: tenant } : {});
    return items
      .filter((m) => opts.desktop === undefined || m.spec.desktopName === opts.desktop)
      .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name))
      .map(migrationView);
  }

  /** A DesktopMigration for a placed desktop; the operator picks the target when none is named. */
  async startMigration(caller: Caller, input: StartMigration): Promise<MigrationView> {
    requireOps(caller, 'starting a migration');
    const tenant = checkLabel(input.tenant, 'tenant');
    const desktopName = checkLabel(input.desktop, 'desktop');
    const targetHost = input.targetHost === undefined ? undefined : checkName(input.targetHost, 'targetHost');
    const m: MigrationObject = {
      apiVersion: API_VERSION,
      kind: 'DesktopMigration',
      metadata: { name: `${desktopName}-mig-${randomBytes(3).toString('hex')}`, namespace: tenant },
      spec: { desktopName, ...(targetHost ? { targetHost } : {}), ...(input.policy !== undefined ? { policy: input.policy as MigrationPolicy } : {}) },
    };
    const checked = validateDesktopMigration(m);
    if (!checked.ok) {
      const issue = checked.issues[0]!;
      throw new BadRequest(`${issue.path.replace(/^spec\./, '')}: ${issue.message}`, issue.path.replace(/^spec\./, ''));
    }
    const desktop = await this.c.desktops.get(desktopName, tenant);
    if (!desktop) throw new NotFound(`desktop ${tenant}/${desktopName} not found`);
    if (desktop.metadata.deletionTimestamp) throw new Conflict(`desktop ${tenant}/${desktopName} is being deleted`);
    if (!desktop.status?.host) throw new Conflict(`desktop ${tenant}/${desktopName} is not placed on a host yet`);
    if (targetHost !== undefined) {
      if (!(await this.c.hosts.get(targetHost))) throw new BadRequest(`no host named ${JSON.stringify(targetHost)}`, 'targetHost');
      if (targetHost === desktop.status.host) throw new BadRequest(`desktop ${tenant}/${desktopName} is already on ${targetHost}`, 'targetHost');
    }
    const running = (await this.c.migrations.list({ namespace: tenant })).items.find((x) => x.spec.desktopName === desktopName && unfinished(x));
    if (running) throw new Conflict(`desktop ${tenant}/${desktopName} is already being migrated by ${running.metadata.name}`);
    let created: MigrationObject;
    try {
      created = await this.c.migrations.create(m);
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new Conflict(`migration ${m.metadata.name} already exists; try again`);
      throw err;
    }
    await audit(this.deps.audit, caller, 'migration.start', { tenant, desktop: desktopName, details: { migration: created.metadata.name, ...(targetHost ? { targetHost } : {}) } });
    return migrationView(created);
  }

  /**
   * Deletes the migration: one that is moving memory is aborted by the orchestrator (the
   * guest stays on the source; `aborting` until then), any other goes at once.
   */
  async abortMigration(caller: Caller, tenant: string, name: string): Promise<MigrationView> {
    requireOps(caller, 'aborting a migration');
    const ns = checkLabel(tenant, 'tenant');
    const m = await this.c.migrations.get(checkName(name, 'name'), ns);
    if (!m) throw new NotFound(`migration ${ns}/${name} not found`);
    await this.c.migrations.delete(name, ns);
    await audit(this.deps.audit, caller, 'migration.abort', { tenant: ns, desktop: m.spec.desktopName, details: { migration: name, phase: m.status?.phase ?? 'Pending' } });
    const after = await this.c.migrations.get(name, ns);
    return after ? migrationView(after) : { ...migrationView(m), aborting: false };
  }

  async queueStats(caller: Caller): Promise<QueueCounts[]> {
    requireOps(caller, 'queue statistics');
    if (!this.deps.queues) throw new Unavailable('this server has no queue connection configured');
    return this.deps.queues.counts();
  }

  async audit(caller: Caller, q: { tenant?: string; user?: string; desktop?: string; since?: string | Date; limit?: number } = {}): Promise<AuditEntry[]> {
    requireOps(caller, 'the audit log');
    if (!this.deps.auditLog) throw new Unavailable('this server has no audit log configured');
    const limit = q.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) throw new BadRequest(`limit must be a whole number from 1 to ${MAX_AUDIT_LIMIT}`, 'limit');
    let since: Date | undefined;
    if (q.since !== undefined) {
      since = q.since instanceof Date ? q.since : new Date(q.since);
      if (Number.isNaN(since.getTime())) throw new BadRequest('since must be an RFC 3339 time, e.g. 2025-01-31T09:30:00Z', 'since');
    }
    return this.deps.auditLog.query({
      limit,
      ...(q.tenant !== undefined ? { tenant: checkLabel(q.tenant, 'tenant') } : {}),
      ...(q.user !== undefined ? { user: q.user } : {}),
      ...(q.desktop !== undefined ? { desktop: q.desktop } : {}),
      ...(since ? { since } : {}),
    });
  }

  private async hostByName(name: string): Promise<HostView> {
    const h = await this.c.hosts.get(checkName(name, 'name'));
    if (!h) throw new NotFound(`host ${JSON.stringify(name)} not found`);
    const { items } = await this.c.desktops.list();
    return hostView(h, items.filter((d) => d.status?.host === name).length);
  }

  private async setMaintenance(caller: Caller, name: string, maintenance: boolean): Promise<HostView> {
    requireOps(caller, maintenance ? 'draining a host' : 'undraining a host');
    const updated = await retryOnConflict(this.c.hosts, checkName(name, 'name'), undefined, (h) => ((h.spec.maintenance ?? false) === maintenance ? undefined : { ...h, spec: { ...h.spec, maintenance } }));
    if (!updated) throw new NotFound(`host ${JSON.stringify(name)} not found`);
    await audit(this.deps.audit, caller, maintenance ? 'host.drain' : 'host.undrain', { details: { host: name } });
    return this.hostByName(name);
  }
}
