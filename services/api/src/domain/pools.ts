/**
 * Desktop pools from the claimant's side: the pools a user may claim, a claim (one desktop of
 * the pool made theirs in a single optimistic write), and a console on the claimed desktop
 * once it runs. The pool controller keeps the pool's desktops; the API only hands them out
 * (shared design §2): two users racing for the last warm desktop write the same
 * resourceVersion, the store lets one through and the other gets a ConflictError and moves
 * on to the next candidate.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Annotations, Labels, type DesktopPhase, type PoolAssignment } from '@deskplane/api';
import { ConflictError, NotFoundError, retryOnConflict } from '@deskplane/resource-store';
import { audit, oneTenant, type AuditSink } from './access';
import type { Caller } from './caller';
import type { ConsoleKind, ConsoleResult, Consoles } from './consoles';
import { desktopView, type DesktopView } from './desktop-view';
import { Conflict, Forbidden, NotFound } from './errors';
import { clients, type DesktopObject, type PoolObject, type StoreClients } from './resources';
import { KeyedLock } from './keyed-lock';

/** RFC 3339 time of the claim, on the claimed desktop. */
export const CLAIMED_AT_ANNOTATION = Annotations.ClaimedAt;
/** Set (to the reason) on a desktop that is to be reset; the pool controller replaces it. */
export const RECYCLE_ANNOTATION = Annotations.Recycle;

export type ClaimResult = 'claimed' | 'reclaimed';
/** How a claim ended, as the claims counter labels it. */
export type ClaimOutcome = ClaimResult | 'exhausted' | 'forbidden' | 'not_found' | 'busy';

/** Where claims are counted (PoolMetrics: the API's Prometheus registry). */
export interface PoolMetricsSink {
  claim(tenant: string, pool: string, outcome: ClaimOutcome): void;
  /** One candidate lost to a racing claim (or deleted under us) and the next was tried. */
  conflictRetry(tenant: string, pool: string): void;
  timeToConsole(tenant: string, pool: string, seconds: number): void;
}

export interface PoolView {
  name: string;
  tenant: string;
  template: string;
  assignment: PoolAssignment;
  size: number;
  /** Desktops that exist (not being deleted). */
  desktops: number;
  /** Unclaimed and running with the console ready: a claim gets its console at once. */
  free: number;
  /** Unclaimed in any usable state (free ones, starting ones, defined ones): a claim succeeds. */
  available: number;
  claimed: number;
  /** The desktop the caller already holds in this pool; a claim gives it back. */
  mine?: DesktopView;
}

export interface PoolClaim {
  pool: string;
  tenant: string;
  result: ClaimResult;
  desktop: DesktopView;
}

export type PoolConsole = ConsoleResult & { desktop: string; result: ClaimResult };

export interface PoolsDeps {
  store: StoreClients;
  consoles: Pick<Consoles, 'open' | 'checkKind'>;
  audit?: AuditSink;
  metrics?: PoolMetricsSink;
  /** How long a pool console waits for the claimed desktop to run. Default 120 000. */
  consoleWaitMs?: number;
  /** How often it looks. Default 250. */
  pollMs?: number;
  /** Rounds of fresh reads when every candidate was lost to racing claims. Default 8. */
  claimRounds?: number;
  now?: () => Date;
}

/** Lower is better: warm with a console, then on its way up, then being made, then defined but stopped. */
function preference(d: DesktopObject): number | undefined {
  const phase: DesktopPhase = d.status?.phase ?? 'Pending';
  if (phase === 'Running') return d.status?.console?.ready ? 0 : 1;
  if (phase === 'Starting' || phase === 'Migrating') return 1;
  if (phase === 'Provisioning' || phase === 'Scheduling' || phase === 'Pending') return 2;
  if (phase === 'Stopped' || phase === 'Stopping') return 3;
  return undefined; // Failed, Deleting: nobody should get these
}

const live = (d: DesktopObject): boolean => !d.metadata.deletionTimestamp && d.metadata.annotations?.[RECYCLE_ANNOTATION] === undefined;
const claimable = (d: DesktopObject): boolean => d.spec.owner === undefined && live(d) && preference(d) !== undefined;
const isFree = (d: DesktopObject): boolean => claimable(d) && preference(d) === 0;
/** A dedicated desktop is the user's for good; a floating one until it is marked for recycling. */
const heldBy = (d: DesktopObject, user: string): boolean => d.spec.owner === user && live(d);

function byPreference(a: DesktopObject, b: DesktopObject): number {
  return (preference(a) ?? 9) - (preference(b) ?? 9) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);
}

/**
 * Whether the caller may claim from this pool: they must be of its tenant, and named by
 * the pool's claimants (a user, or a shared group). No claimants at all = the whole tenant.
 */
export function mayClaim(c: Caller, pool: PoolObject): boolean {
  if (pool.metadata.namespace !== c.tenant) return false;
  const { users, groups } = pool.spec.claimants ?? {};
  if (users === undefined && groups === undefined) return true;
  return (users ?? []).includes(c.user) || (groups ?? []).some((g) => c.groups.includes(g));
}

export class Pools {
  private readonly pools;
  private readonly desktops;
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: PoolsDeps) {
    const c = clients(deps.store);
    this.pools = c.pools;
    this.desktops = c.desktops;
  }

  /** The pools of the tenant the caller may claim from, with their counts and the desktop the caller holds. */
  async list(caller: Caller, opts: { tenant?: string } = {}): Promise<PoolView[]> {
    const tenant = oneTenant(caller, opts.tenant);
    const [pools, desktops] = await Promise.all([this.pools.list({ namespace: tenant }), this.desktops.list({ namespace: tenant })]);
    return pools.items
      .filter((p) => !p.metadata.deletionTimestamp && mayClaim(caller, p))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((p) => this.view(caller, p, desktops.items.filter((d) => inPool(d, p.metadata.name))));
  }

  /**
   * The caller's desktop of the pool: the one they already hold (`reclaimed`), else a free
   * one in preference order (`claimed`). Another tenant's pool (or none) is 404, a pool of
   * the caller's tenant they are not a claimant of is 403, a pool with nothing to hand out
   * is 409 with reason `exhausted`.
   */
  async claim(caller: Caller, name: string, opts: { tenant?: string } = {}): Promise<PoolClaim> {
    let tenant = caller.tenant;
    let label = 'unknown';
    try {
      tenant = oneTenant(caller, opts.tenant);
      const pool = await this.find(tenant, name);
      label = pool.metadata.name;
      if (!mayClaim(caller, pool)) throw new Forbidden(`you may not claim desktops of pool ${JSON.stringify(label)}; ask your admin to add you to its claimants`);
      // One claim per user and pool at a time in this process, so a double click cannot take two desktops.
      const out = await this.locks.run(`${tenant}/${label}/${caller.user}`, () => this.claimIn(caller, pool));
      this.deps.metrics?.claim(tenant, label, out.result);
      await audit(this.deps.audit, caller, 'pool.claim', { tenant, desktop: out.desktop.name, details: { pool: label, result: out.result } });
      return out;
    } catch (err) {
      const outcome = outcomeOf(err);
      if (outcome) this.deps.metrics?.claim(tenant, label, outcome);
      throw err;
    }
  }

  /**
   * Claim, wait until the desktop runs with its console ready (up to consoleWaitMs), then
   * the same console a desktop's own console route gives. Past the wait it is a 409 with
   * reason `starting`: the desktop stays the caller's, so asking again gets the same one.
   */
  async console(caller: Caller, name: string, kind: ConsoleKind, opts: { tenant?: string; signal?: AbortSignal; startedAt?: number } = {}): Promise<PoolConsole> {
    const startedAt = opts.startedAt ?? performance.now();
    this.deps.consoles.checkKind(kind);
    const claim = await this.claim(caller, name, opts);
    const { tenant } = claim;
    const desktop = claim.desktop.name;
    const waitMs = this.deps.consoleWaitMs ?? 120_000;
    const deadline = Date.now() + waitMs;
    let last: DesktopObject | undefined;
    for (;;) {
      const d = await this.desktops.get(desktop, tenant);
      if (!d || !heldBy(d, caller.user)) throw new Conflict(`desktop ${JSON.stringify(desktop)} of pool ${JSON.stringify(claim.pool)} was taken back while it started; ask again for a fresh one`, undefined, 'starting');
      if (d.status?.phase === 'Failed') throw new Conflict(`desktop ${JSON.stringify(desktop)} of pool ${JSON.stringify(claim.pool)} failed to start; ask your admin`, undefined, 'failed');
      last = d;
      if (d.status?.phase === 'Running' && d.status.console?.ready) {
        try {
          const r = await this.deps.consoles.open(caller, desktop, kind, { tenant });
          this.deps.metrics?.timeToConsole(tenant, claim.pool, (performance.now() - startedAt) / 1000);
          return { ...r, desktop, result: claim.result };
        } catch (err) {
          // Running can be seen a moment before the console password is readable: look again.
          if (!(err instanceof Conflict)) throw err;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(this.deps.pollMs ?? 250, left), undefined, opts.signal ? { signal: opts.signal } : {});
    }
    const phase = last?.status?.phase ?? 'Pending';
    throw new Conflict(
      `desktop ${JSON.stringify(desktop)} of pool ${JSON.stringify(claim.pool)} is still starting (${phase} after ${Math.round(waitMs / 1000)} s); it stays yours: ask again in a moment`,
      undefined,
      'starting',
    );
  }

  private async find(tenant: string, name: string): Promise<PoolObject> {
    const pool = typeof name === 'string' && name !== '' && name.length <= 253 ? await this.pools.get(name, tenant) : undefined;
    if (!pool) throw new NotFound(`pool ${JSON.stringify(String(name))} not found`);
    return pool;
  }

  private async claimIn(caller: Caller, pool: PoolObject): Promise<PoolClaim> {
    const tenant = pool.metadata.namespace!;
    const name = pool.metadata.name;
    const rounds = this.deps.claimRounds ?? 8;
    for (let round = 1; ; round++) {
      const { items } = await this.desktops.list({ namespace: tenant, labelSelector: { [Labels.Pool]: name } });
      const desktops = items.filter((d) => inPool(d, name));
      const held = desktops.filter((d) => heldBy(d, caller.user)).sort(byPreference)[0];
      if (held) return { pool: name, tenant, result: 'reclaimed', desktop: desktopView(await this.resume(held), caller) };
      // Its controller is deleting the unclaimed desktops: holders keep theirs, nothing new is handed out.
      if (pool.metadata.deletionTimestamp) throw new Conflict(`pool ${JSON.stringify(name)} is being deleted`, undefined, 'exhausted');
      const candidates = desktops.filter(claimable).sort(byPreference);
      if (candidates.length === 0) throw exhausted(pool, desktops);
      for (const d of candidates) {
        try {
          const out = await this.desktops.update(this.claimed(d, caller.user));
          return { pool: name, tenant, result: 'claimed', desktop: desktopView(out, caller) };
        } catch (err) {
          if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
          this.deps.metrics?.conflictRetry(tenant, name);
        }
      }
      if (round >= rounds) throw new Conflict(`pool ${JSON.stringify(name)} is busy: every free desktop was taken by another claim ${rounds} times over; ask again`, undefined, 'busy');
    }
  }

  /** The claim itself: sent with the resourceVersion it was read at, so a racing claim loses. */
  private claimed(d: DesktopObject, user: string): DesktopObject {
    const at = (this.deps.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      ...d,
      metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [CLAIMED_AT_ANNOTATION]: at } },
      spec: { ...d.spec, owner: user, runStrategy: 'Always' },
    };
  }

  /** A held desktop that was stopped (idle stop of a dedicated desktop) starts again. */
  private async resume(d: DesktopObject): Promise<DesktopObject> {
    if ((d.spec.runStrategy ?? 'Always') === 'Always') return d;
    const out = await retryOnConflict(this.desktops, d.metadata.name, d.metadata.namespace, (cur): DesktopObject | undefined => (cur.spec.runStrategy === 'Always' ? undefined : { ...cur, spec: { ...cur.spec, runStrategy: 'Always' } }));
    return out ?? d;
  }

  private view(caller: Caller, p: PoolObject, desktops: DesktopObject[]): PoolView {
    const existing = desktops.filter((d) => !d.metadata.deletionTimestamp);
    const mine = existing.filter((d) => heldBy(d, caller.user)).sort(byPreference)[0];
    return {
      name: p.metadata.name,
      tenant: p.metadata.namespace ?? '',
      template: p.spec.templateRef.name,
      assignment: p.spec.assignment ?? 'Dedicated',
      size: p.spec.size,
      desktops: existing.length,
      free: existing.filter(isFree).length,
      available: existing.filter(claimable).length,
      claimed: existing.filter((d) => d.spec.owner !== undefined).length,
      ...(mine && { mine: desktopView(mine, caller) }),
    };
  }

}

/** The label puts a desktop in a pool; poolRef must agree, so a hand-labelled desktop is never handed out. */
function inPool(d: DesktopObject, pool: string): boolean {
  return d.metadata.labels?.[Labels.Pool] === pool && d.spec.poolRef?.name === pool;
}

function exhausted(pool: PoolObject, desktops: DesktopObject[]): Conflict {
  const claimed = desktops.filter((d) => d.spec.owner !== undefined && !d.metadata.deletionTimestamp).length;
  const resetting = desktops.filter((d) => d.spec.owner === undefined || d.metadata.deletionTimestamp).length;
  const name = JSON.stringify(pool.metadata.name);
  const more = resetting > 0 ? `, ${resetting} being reset or set up` : '';
  return new Conflict(`pool ${name} has no free desktop: ${claimed} of ${pool.spec.size} claimed${more}; ask your admin to raise size`, undefined, 'exhausted');
}

function outcomeOf(err: unknown): ClaimOutcome | undefined {
  if (err instanceof NotFound) return 'not_found';
  if (err instanceof Forbidden) return 'forbidden';
  if (err instanceof Conflict && (err.reason === 'exhausted' || err.reason === 'busy')) return err.reason;
  return undefined;
}
