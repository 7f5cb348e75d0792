/**
 * Desktops: list, get, create within quota, delete, start / stop / restart, and a live
 * feed. Power is the operator's run strategy: start = `Always`, stop = `Halted`; the
 * operator enqueues one start or stop job per spec generation, and the orchestrator writes
 * the phases. Restart = stop, then (once the stop has begun) start.
 */
import { RunStrategies, API_VERSION, type DesktopPhase, type RunStrategy } from '@deskplane/api';
import { AlreadyExistsError, InvalidError, retryOnConflict } from '@deskplane/resource-store';
import { audit, checkLabel, checkName, oneTenant, tenantScope, type AuditSink } from './access';
import type { Caller } from './caller';
import { DesktopFeed, type DesktopEvent } from './desktop-feed';
import { canSee, desktopView, mayAct, type DesktopView } from './desktop-view';
import { BadRequest, Conflict } from './errors';
import { exceeded, sizeOf } from './quota';
import { clients, type DesktopObject, type StoreClients } from './resources';
import type { Templates } from './templates';
import type { Tenants } from './tenants';
import { KeyedLock } from './keyed-lock';

export interface CreateDesktop {
  name: unknown;
  template: unknown;
  runStrategy?: unknown;
  persistent?: unknown;
}

export interface DesktopsDeps {
  store: StoreClients;
  templates: Templates;
  tenants: Tenants;
  audit?: AuditSink;
  /** How long restart waits for the stop to begin. Default 60 000. */
  restartTimeoutMs?: number;
  /** How often restart looks at the phase. Default 250. */
  pollMs?: number;
  /** Informer resync of the live feed. Default 300 000. */
  feedResyncMs?: number;
}

/** Phases in which the operator acts on neither start nor stop; restart waits for none of them. */
const UNSETTLED: readonly DesktopPhase[] = ['Pending', 'Scheduling', 'Provisioning', 'Migrating'];

export class Desktops {
  private readonly desktops;
  private readonly locks = new KeyedLock();
  private readonly feed: DesktopFeed;

  constructor(private readonly deps: DesktopsDeps) {
    this.desktops = clients(deps.store).desktops;
    this.feed = new DesktopFeed(this.desktops, deps.feedResyncMs ?? 300_000);
  }

  /**
   * Users: their own desktops. Tenant admins: all of their tenant's (`mine` narrows it to
   * their own). Ops: the named tenant's, or every tenant's.
   */
  async list(caller: Caller, opts: { tenant?: string; mine?: boolean } = {}): Promise<DesktopView[]> {
    const tenant = tenantScope(caller, opts.tenant, { allowAll: true });
    const { items } = await this.desktops.list(tenant !== undefined ? { namespace: tenant } : {});
    return items
      .filter((d) => canSee(caller, d) && (!opts.mine || d.spec.owner === caller.user))
      .sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name))
      .map((d) => desktopView(d, caller));
  }

  async get(caller: Caller, name: string, opts: { tenant?: string } = {}): Promise<DesktopView> {
    return desktopView(await this.find(caller, name, opts.tenant), caller);
  }

  /**
   * A desktop owned by the caller, from a template they may use. 409 `Conflict` naming the
   * quota when it would not fit (nothing is created then), 400 naming the field for bad input.
   */
  async create(caller: Caller, input: CreateDesktop, opts: { tenant?: string } = {}): Promise<DesktopView> {
    const tenant = oneTenant(caller, opts.tenant);
    const name = checkLabel(input.name, 'name');
    const templateName = checkName(input.template, 'template');
    if (input.runStrategy !== undefined && !RunStrategies.includes(input.runStrategy as RunStrategy)) {
      throw new BadRequest(`runStrategy must be one of ${RunStrategies.join(', ')}`, 'runStrategy');
    }
    if (input.persistent !== undefined && typeof input.persistent !== 'boolean') throw new BadRequest('persistent must be true or false', 'persistent');
    // One create per tenant at a time in this process, so two requests cannot both take the last slot.
    const created = await this.locks.run(tenant, async () => {
      if (await this.desktops.get(name, tenant)) throw new Conflict(`desktop ${JSON.stringify(name)} already exists`);
      const { template, ensure } = await this.deps.templates.resolve(tenant, templateName);
      const over = exceeded(await this.deps.tenants.quotaOf(tenant), await this.deps.tenants.usage(tenant), sizeOf(template));
      if (over) throw new Conflict(over.message, over.quota);
      await ensure();
      const desktop: DesktopObject = {
        apiVersion: API_VERSION,
        kind: 'VirtualDesktop',
        metadata: { name, namespace: tenant },
        spec: {
          templateRef: { name: templateName },
          owner: caller.user,
          ...(input.runStrategy !== undefined ? { runStrategy: input.runStrategy as RunStrategy } : {}),
          ...(input.persistent !== undefined ? { persistent: input.persistent as boolean } : {}),
        },
      };
      try {
        return await this.desktops.create(desktop);
      } catch (err) {
        if (err instanceof AlreadyExistsError) throw new Conflict(`desktop ${JSON.stringify(name)} already exists`);
        if (err instanceof InvalidError) throw new BadRequest(err.message);
        throw err;
      }
    });
    await audit(this.deps.audit, caller, 'desktop.create', { tenant, desktop: name, details: { template: templateName } });
    return desktopView(created, caller);
  }

  /** Deletion is asynchronous: the desktop shows `deleting` until its guest is removed. */
  async delete(caller: Caller, name: string, opts: { tenant?: string } = {}): Promise<void> {
    const d = await this.find(caller, name, opts.tenant);
    if (d.metadata.deletionTimestamp) return;
    await this.desktops.delete(d.metadata.name, d.metadata.namespace);
    await audit(this.deps.audit, caller, 'desktop.delete', { tenant: d.metadata.namespace!, desktop: name });
  }

  async start(caller: Caller, name: string, opts: { tenant?: string } = {}): Promise<DesktopView> {
    const d = this.settled(await this.find(caller, name, opts.tenant), 'start');
    const out = await this.power(d, 'Always');
    await audit(this.deps.audit, caller, 'desktop.start', { tenant: d.metadata.namespace!, desktop: name });
    return desktopView(out, caller);
  }

  async stop(caller: Caller, name: string, opts: { tenant?: string } = {}): Promise<DesktopView> {
    const d = this.settled(await this.find(caller, name, opts.tenant), 'stop');
    const out = await this.power(d, 'Halted');
    await audit(this.deps.audit, caller, 'desktop.stop', { tenant: d.metadata.namespace!, desktop: name });
    return desktopView(out, caller);
  }

  /**
   * Stop, wait until the stop has begun (phase Stopping or Stopped), then start: the
   * operator starts it once it is Stopped. A running desktop whose stop does not begin
   * within the timeout is set back to `Always` (it keeps running) and the call is a 409.
   */
  async restart(caller: Caller, name: string, opts: { tenant?: string } = {}): Promise<DesktopView> {
    let d = this.settled(await this.find(caller, name, opts.tenant), 'restart');
    const ns = d.metadata.namespace!;
    if (UNSETTLED.includes(d.status?.phase ?? 'Pending')) throw new Conflict(`desktop ${JSON.stringify(name)} is ${d.status?.phase ?? 'Pending'}: it can be restarted once it has run`);
    if (d.status?.phase === 'Running' || d.status?.phase === 'Starting') {
      d = await this.power(d, 'Halted');
      const deadline = Date.now() + (this.deps.restartTimeoutMs ?? 60_000);
      while (d.status?.phase === 'Running' || d.status?.phase === 'Starting') {
        if (Date.now() >= deadline) {
          await this.setStrategy(d, 'Always');
          throw new Conflict(`desktop ${JSON.stringify(name)} did not begin to stop within ${Math.round((this.deps.restartTimeoutMs ?? 60_000) / 1000)} s; it keeps running`);
        }
        await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 250));
        const fresh = await this.desktops.get(name, ns);
        if (!fresh || fresh.metadata.deletionTimestamp) throw new Conflict(`desktop ${JSON.stringify(name)} was deleted during the restart`);
        d = fresh;
      }
    }
    const out = await this.power(d, 'Always');
    await audit(this.deps.audit, caller, 'desktop.restart', { tenant: ns, desktop: name });
    return desktopView(out, caller);
  }

  /**
   * Live status of the desktops the caller may see (tenant and ownership as in list):
   * first an `added` event per desktop, then changes. Resolves once the snapshot is sent.
   */
  watch(caller: Caller, onEvent: (e: DesktopEvent) => void, opts: { tenant?: string } = {}): Promise<{ stop(): void }> {
    const tenant = tenantScope(caller, opts.tenant, { allowAll: true });
    return this.feed.subscribe((d) => canSee(caller, d) && (tenant === undefined || d.metadata.namespace === tenant), (type, d) => onEvent({ type, desktop: desktopView(d, caller) }));
  }

  /** Stops the live feed's informer (server shutdown). */
  close(): void {
    this.feed.close();
  }

  private async find(caller: Caller, name: string, tenant: string | undefined): Promise<DesktopObject> {
    const ns = oneTenant(caller, tenant);
    if (typeof name !== 'string' || name === '' || name.length > 253) return mayAct(caller, undefined, String(name));
    return mayAct(caller, await this.desktops.get(name, ns), name);
  }

  /** Power actions on a desktop that is being deleted or has failed are refused, saying why. */
  private settled(d: DesktopObject, action: string): DesktopObject {
    const name = JSON.stringify(d.metadata.name);
    if (d.metadata.deletionTimestamp || d.status?.phase === 'Deleting') throw new Conflict(`cannot ${action} desktop ${name}: it is being deleted`);
    if (d.status?.phase === 'Failed') throw new Conflict(`cannot ${action} desktop ${name}: it has failed; delete it and create it again, or ask an administrator`);
    return d;
  }

  /**
   * Sets the run strategy so that the operator acts. The operator enqueues one job per
   * generation, so when the strategy already says so but the phase disagrees (a guest that
   * stopped by itself under `Always`), the strategy is flipped and back for a new generation.
   */
  private async power(d: DesktopObject, want: 'Always' | 'Halted'): Promise<DesktopObject> {
    const phase = d.status?.phase;
    const current = d.spec.runStrategy ?? 'Always';
    if (current !== want) return this.setStrategy(d, want);
    const stale = want === 'Always' ? phase === 'Stopped' : phase === 'Running';
    if (!stale) return d;
    const flipped = await this.setStrategy(d, want === 'Always' ? 'Halted' : 'Always');
    return this.setStrategy(flipped, want);
  }

  private async setStrategy(d: DesktopObject, runStrategy: RunStrategy): Promise<DesktopObject> {
    const out = await retryOnConflict(this.desktops, d.metadata.name, d.metadata.namespace, (cur) => ({ ...cur, spec: { ...cur.spec, runStrategy } }));
    if (!out) throw new Conflict(`desktop ${JSON.stringify(d.metadata.name)} was deleted meanwhile`);
    return out;
  }

}

