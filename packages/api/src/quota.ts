/**
 * Pure tenant-quota arithmetic, shared by the API (a user creating a desktop) and the pool
 * controller (a pool filling up), so both count alike: every desktop of the namespace not
 * being deleted counts once, with its template's vCPUs and memory; a desktop whose template
 * is gone counts as a desktop only (its size cannot be known).
 */
import { formatQuantity, parseQuantity } from './quantity';
import type { DesktopTemplate } from './kinds/desktop-template';
import type { TenantQuota } from './kinds/tenant';
import type { VirtualDesktop } from './kinds/virtual-desktop';

export interface QuotaUsage {
  desktops: number;
  vcpus: number;
  /** Bytes. */
  memory: number;
}

export interface DesktopSize {
  vcpus: number;
  /** Bytes. */
  memory: number;
}

export type QuotaName = 'desktops' | 'vcpus' | 'memory';

export interface QuotaExceeded {
  quota: QuotaName;
  message: string;
}

export function desktopSizeOf(t: Pick<DesktopTemplate, 'spec'>): DesktopSize {
  return { vcpus: t.spec.vcpus, memory: parseQuantity(t.spec.memory) };
}

/** What the namespace's desktops use; `sizeOfTemplate` answers by template name. */
export function quotaUsageOf(desktops: readonly Pick<VirtualDesktop, 'metadata' | 'spec'>[], sizeOfTemplate: (name: string) => DesktopSize | undefined): QuotaUsage {
  const usage: QuotaUsage = { desktops: 0, vcpus: 0, memory: 0 };
  for (const d of desktops) {
    if (d.metadata.deletionTimestamp) continue;
    usage.desktops += 1;
    const s = sizeOfTemplate(d.spec.templateRef.name);
    if (!s) continue;
    usage.vcpus += s.vcpus;
    usage.memory += s.memory;
  }
  return usage;
}

/**
 * The first limit (desktops, vcpus, memory) one more desktop of `size` would cross, with the
 * message users see; undefined when it fits (or the tenant has no quota).
 */
export function quotaExceeded(quota: TenantQuota | undefined, used: QuotaUsage, size: DesktopSize): QuotaExceeded | undefined {
  if (!quota) return undefined;
  const over = (name: QuotaName, limit: number, inUse: number, needs: number, show: (n: number) => string = String): QuotaExceeded | undefined =>
    inUse + needs > limit ? { quota: name, message: `quota exceeded: ${name} ${show(inUse)}/${show(limit)} used, this desktop needs ${show(needs)}` } : undefined;
  return (
    (quota.desktops !== undefined ? over('desktops', quota.desktops, used.desktops, 1) : undefined) ??
    (quota.vcpus !== undefined ? over('vcpus', quota.vcpus, used.vcpus, size.vcpus) : undefined) ??
    (quota.memory !== undefined ? over('memory', parseQuantity(quota.memory), used.memory, size.memory, formatQuantity) : undefined)
  );
}
