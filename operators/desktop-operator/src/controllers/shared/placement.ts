/**
 * Pure mapping from the API objects onto the scheduler's own input types. The scheduler
 * never sees a KvmHost or a VirtualDesktop, only `HostCandidate` and `DesktopRequest`.
 */
import { isTrue, parseQuantity, ConditionType, TERMINAL_MIGRATION_PHASES, type DesktopTemplate, type KvmHost, type VirtualDesktop, type DesktopMigration } from '@deskplane/api';
import type { DesktopRequest, HostCandidate, Resources } from '../../scheduler';

/** What one desktop takes from a host. */
export function templateResources(t: Pick<DesktopTemplate, 'spec'>): Resources {
  return { vcpus: t.spec.vcpus, memoryBytes: parseQuantity(t.spec.memory), diskBytes: parseQuantity(t.spec.disk ?? '20Gi') };
}

const ZERO: Resources = { vcpus: 0, memoryBytes: 0, diskBytes: 0 };

/** A desktop that occupies (or will occupy) a host, as far as capacity and anti-affinity care. */
export interface PlacedDesktop {
  /** Unique per entry: the desktop's uid, or `migration:<uid>` for a migration's reservation on its target. */
  id: string;
  /** `namespace/name` of the desktop (appears in anti-affinity messages). */
  desktop: string;
  host: string;
  owner: string;
  pool?: string;
  resources: Resources;
}

/** Owners and pools are namespace-qualified: tenants never collide. */
export function ownerKey(vd: Pick<VirtualDesktop, 'metadata' | 'spec'>): string {
  return `${vd.metadata.namespace ?? ''}/${vd.spec.owner ?? `pool:${vd.spec.poolRef?.name ?? ''}`}`;
}

function poolKey(vd: Pick<VirtualDesktop, 'metadata' | 'spec'>): string | undefined {
  return vd.spec.poolRef ? `${vd.metadata.namespace ?? ''}/${vd.spec.poolRef.name}` : undefined;
}

/** One desktop's claim on one host. */
export function placedEntry(vd: Pick<VirtualDesktop, 'metadata' | 'spec'>, id: string, host: string, resources: Resources): PlacedDesktop {
  const pool = poolKey(vd);
  return { id, desktop: `${vd.metadata.namespace}/${vd.metadata.name}`, host, owner: ownerKey(vd), ...(pool ? { pool } : {}), resources };
}

type TemplateLookup = (namespace: string, name: string) => Pick<DesktopTemplate, 'spec'> | undefined;

/**
 * Desktops that hold a host: every desktop with `status.host` (deleting ones too, until
 * their deprovision job is done), plus each migration under way reserving its desktop's
 * resources on the target. A desktop whose template is gone counts as zero resources.
 */
export function placedDesktops(desktops: readonly VirtualDesktop[], migrations: readonly DesktopMigration[], template: TemplateLookup): PlacedDesktop[] {
  const out: PlacedDesktop[] = [];
  const byKey = new Map<string, VirtualDesktop>();
  const entry = (vd: VirtualDesktop, id: string, host: string): PlacedDesktop => {
    const t = template(vd.metadata.namespace ?? '', vd.spec.templateRef.name);
    return placedEntry(vd, id, host, t ? templateResources(t) : ZERO);
  };
  for (const vd of desktops) {
    byKey.set(`${vd.metadata.namespace}/${vd.metadata.name}`, vd);
    if (vd.status?.host) out.push(entry(vd, vd.metadata.uid ?? `${vd.metadata.namespace}/${vd.metadata.name}`, vd.status.host));
  }
  for (const m of migrations) {
    const phase = m.status?.phase;
    if (!m.status?.targetHost || !phase || TERMINAL_MIGRATION_PHASES.includes(phase)) continue;
    const vd = byKey.get(`${m.metadata.namespace}/${m.spec.desktopName}`);
    if (vd && vd.status?.host !== m.status.targetHost) out.push(entry(vd, `migration:${m.metadata.uid ?? m.metadata.name}`, m.status.targetHost));
  }
  return out;
}

const MAX_DISK = Number.MAX_SAFE_INTEGER;

/** Reads a status quantity; absent → 0 (or `absent` when given). */
function q(v: string | number | undefined, absent = 0): number {
  return v === undefined ? absent : parseQuantity(v);
}

/**
 * One KvmHost as the scheduler sees it. Capacity is `status.allocatable` (what the agent
 * offers guests, minus `spec.reserved`), with no overcommit on top: the agent already
 * applied its own (see the README). Allocated is the larger, per resource, of what the
 * agent reports and what the operator has placed there (its own decisions land before the
 * agent hears of them, so two desktops scheduled back to back never take the same slot).
 */
export function hostCandidate(host: KvmHost, placed: readonly PlacedDesktop[]): HostCandidate {
  const a = host.status?.allocatable;
  const agent = host.status?.allocated;
  const mine = placed.filter((p) => p.host === host.metadata.name);
  const sum = mine.reduce(
    (s, p) => ({ vcpus: s.vcpus + p.resources.vcpus, memoryBytes: s.memoryBytes + p.resources.memoryBytes, diskBytes: s.diskBytes + p.resources.diskBytes }),
    ZERO,
  );
  return {
    name: host.metadata.name ?? '',
    labels: host.metadata.labels ?? {},
    ready: isTrue(host.status?.conditions, ConditionType.Ready) && !host.metadata.deletionTimestamp,
    schedulable: host.spec.schedulable !== false,
    maintenance: host.spec.maintenance === true,
    capacity: { vcpus: a?.vcpus ?? 0, memoryBytes: q(a?.memory), diskBytes: a ? q(a.disk, MAX_DISK) : 0 },
    overcommit: { cpu: 1, memory: 1 },
    allocated: {
      vcpus: Math.max(agent?.vcpus ?? 0, sum.vcpus),
      memoryBytes: Math.max(q(agent?.memory), sum.memoryBytes),
      diskBytes: Math.max(q(agent?.disk), sum.diskBytes),
    },
    guests: mine.map((p) => ({ desktop: p.desktop, owner: p.owner, ...(p.pool ? { pool: p.pool } : {}) })),
  };
}

/** The scheduler's request for a desktop made from a template. */
export function desktopRequest(vd: VirtualDesktop, resources: Resources, excludeHosts?: readonly string[]): DesktopRequest {
  const pool = poolKey(vd);
  return {
    name: vd.metadata.name ?? '',
    namespace: vd.metadata.namespace ?? '',
    owner: ownerKey(vd),
    ...(pool ? { pool } : {}),
    ...resources,
    ...(vd.spec.placement?.hostSelector ? { hostSelector: vd.spec.placement.hostSelector } : {}),
    antiAffinity: vd.spec.placement?.antiAffinity ?? 'none',
    ...(excludeHosts?.length ? { excludeHosts } : {}),
  };
}

/**
 * Placements decided but not yet visible in the informer cache (kube-scheduler's
 * "assume"): merged into what the cache says until the cache shows them, so the next
 * decision already counts them.
 */
export class PlacementLedger {
  private readonly assumed = new Map<string, PlacedDesktop & { at: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  assume(p: PlacedDesktop): void {
    this.assumed.set(p.id, { ...p, at: this.now() });
  }

  forget(id: string): void {
    this.assumed.delete(id);
  }

  /** The cache's placements plus the assumed ones it does not show yet; confirmed or stale assumptions are dropped. */
  merge(fromCache: readonly PlacedDesktop[]): PlacedDesktop[] {
    const seen = new Map(fromCache.map((p) => [p.id, p] as const));
    const out = [...fromCache];
    for (const [id, p] of this.assumed) {
      const cached = seen.get(id);
      if ((cached && cached.host === p.host) || this.now() - p.at > this.ttlMs) this.assumed.delete(id);
      else if (!cached) out.push(p);
    }
    return out;
  }
}

/** Runs async sections one at a time (scheduling decisions must see each other's results). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
