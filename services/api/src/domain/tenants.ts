/**
 * A tenant's quota and what its desktops use. The quota lives on the cluster-scoped
 * `Tenant` object named after the tenant's namespace; no object means no limits.
 */
import { API_VERSION, formatQuantity, parseQuantity, type TenantQuota } from '@deskplane/api';
import { AlreadyExistsError, retryOnConflict } from '@deskplane/resource-store';
import { audit, checkLabel, isOps, isTenantAdmin, oneTenant, requireOps, type AuditSink } from './access';
import type { Caller } from './caller';
import { BadRequest, Forbidden } from './errors';
import { usageOf, type Usage } from './quota';
import { clients, type StoreClients, type TenantObject } from './resources';

export interface QuotaView {
  desktops?: number;
  vcpus?: number;
  memory?: string;
}

export interface TenantView {
  name: string;
  displayName?: string;
  /** Limits; a missing field is no limit. */
  quota: QuotaView;
  usage: { desktops: number; vcpus: number; memory: string; memoryBytes: number };
  admins?: { users: string[]; groups: string[] };
}

/** A quota change: a number sets the limit, null removes it, absent leaves it as it is. */
export interface QuotaChange {
  desktops?: number | null;
  vcpus?: number | null;
  memory?: string | number | null;
}

export interface TenantsDeps {
  store: StoreClients;
  audit?: AuditSink;
}

/** Pure: whether the Tenant object names this user (or one of their groups) as an admin. */
export function isAdminByBinding(t: Pick<TenantObject, 'spec'> | undefined, user: string, groups: readonly string[]): boolean {
  const admins = t?.spec.admins;
  return !!admins && ((admins.users ?? []).includes(user) || (admins.groups ?? []).some((g) => groups.includes(g)));
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new BadRequest(`${field} must be a whole number >= 0`, field);
  return value;
}

function quantity(value: unknown, field: string): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw new BadRequest(`${field} must be a quantity such as 64Gi`, field);
  try {
    return formatQuantity(parseQuantity(value));
  } catch {
    throw new BadRequest(`${field} must be a quantity such as 64Gi, got ${JSON.stringify(value)}`, field);
  }
}

/** Pure: the quota after a change, every given field checked (BadRequest names it). */
export function applyQuotaChange(current: TenantQuota | undefined, change: QuotaChange): TenantQuota {
  if (change === null || typeof change !== 'object') throw new BadRequest('quota must be an object', 'quota');
  const next: TenantQuota = { ...current };
  for (const key of Object.keys(change)) if (!['desktops', 'vcpus', 'memory'].includes(key)) throw new BadRequest(`unknown quota ${JSON.stringify(key)}`, `quota.${key}`);
  if (change.desktops === null) delete next.desktops;
  else if (change.desktops !== undefined) next.desktops = count(change.desktops, 'quota.desktops');
  if (change.vcpus === null) delete next.vcpus;
  else if (change.vcpus !== undefined) next.vcpus = count(change.vcpus, 'quota.vcpus');
  if (change.memory === null) delete next.memory;
  else if (change.memory !== undefined) next.memory = quantity(change.memory, 'quota.memory');
  return next;
}

export class Tenants {
  private readonly c;

  constructor(private readonly deps: TenantsDeps) {
    this.c = clients(deps.store);
  }

  /** Quota and usage: tenant admins of their own tenant, ops of any. */
  async get(caller: Caller, tenant?: string): Promise<TenantView> {
    const name = oneTenant(caller, tenant);
    if (!isOps(caller) && !isTenantAdmin(caller)) throw new Forbidden("the tenant's quota is for tenant admins");
    return this.view(name, await this.c.tenants.get(name));
  }

  /** Every Tenant object (ops). */
  async list(caller: Caller): Promise<TenantView[]> {
    requireOps(caller, 'listing tenants');
    const { items } = await this.c.tenants.list();
    return Promise.all(items.map((t) => this.view(t.metadata.name, t)));
  }

  /** Ops set (or clear) limits; the Tenant object is created when the tenant has none. */
  async setQuota(caller: Caller, tenant: string, change: QuotaChange): Promise<TenantView> {
    requireOps(caller, 'setting quotas');
    const name = checkLabel(tenant, 'tenant');
    let stored = await retryOnConflict(this.c.tenants, name, undefined, (cur) => ({ ...cur, spec: { ...cur.spec, quota: applyQuotaChange(cur.spec.quota, change) } }));
    if (!stored) {
      const fresh: TenantObject = { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name }, spec: { quota: applyQuotaChange(undefined, change) } };
      try {
        stored = await this.c.tenants.create(fresh);
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        return this.setQuota(caller, tenant, change); // created meanwhile: apply the change to it
      }
    }
    await audit(this.deps.audit, caller, 'tenant.quota.set', { tenant: name, details: { quota: stored.spec.quota ?? {} } });
    return this.view(name, stored);
  }

  /** The tenant's limits (undefined: none). */
  async quotaOf(tenant: string): Promise<TenantQuota | undefined> {
    return (await this.c.tenants.get(tenant))?.spec.quota;
  }

  /** What the tenant's desktops use now. */
  async usage(tenant: string): Promise<Usage> {
    const [desktops, templates] = await Promise.all([this.c.desktops.list({ namespace: tenant }), this.c.templates.list({ namespace: tenant })]);
    return usageOf(desktops.items, templates.items);
  }

  /** Whether the tenant's Tenant object names the user or one of the groups as admin (for the auth layer). */
  async isAdmin(tenant: string, user: string, groups: readonly string[]): Promise<boolean> {
    return isAdminByBinding(await this.c.tenants.get(tenant), user, groups);
  }

  private async view(name: string, t: TenantObject | undefined): Promise<TenantView> {
    const u = await this.usage(name);
    const q = t?.spec.quota ?? {};
    return {
      name,
      ...(t?.spec.displayName !== undefined ? { displayName: t.spec.displayName } : {}),
      quota: {
        ...(q.desktops !== undefined ? { desktops: q.desktops } : {}),
        ...(q.vcpus !== undefined ? { vcpus: q.vcpus } : {}),
        ...(q.memory !== undefined ? { memory: String(q.memory) } : {}),
      },
      usage: { desktops: u.desktops, vcpus: u.vcpus, memory: formatQuantity(u.memory), memoryBytes: u.memory },
      ...(t?.spec.admins ? { admins: { users: t.spec.admins.users ?? [], groups: t.spec.admins.groups ?? [] } } : {}),
    };
  }
}
