/**
 * Pure quota arithmetic: what a tenant's desktops use, and whether one more fits. A
 * desktop's size is its template's (vCPUs, memory), read from the tenant's namespace; a
 * desktop being deleted no longer counts, and one whose template is gone counts as a
 * desktop with no vCPUs or memory (its size cannot be known).
 */
import { formatQuantity, parseQuantity, type TenantQuota } from '@deskplane/api';
import type { DesktopObject, TemplateObject } from './resources';

export interface Usage {
  desktops: number;
  vcpus: number;
  /** Bytes. */
  memory: number;
}

export interface Size {
  vcpus: number;
  memory: number;
}

export function sizeOf(t: Pick<TemplateObject, 'spec'>): Size {
  return { vcpus: t.spec.vcpus, memory: parseQuantity(t.spec.memory) };
}

export function usageOf(desktops: readonly DesktopObject[], templates: readonly TemplateObject[]): Usage {
  const byName = new Map(templates.map((t) => [t.metadata.name, t] as const));
  const usage: Usage = { desktops: 0, vcpus: 0, memory: 0 };
  for (const d of desktops) {
    if (d.metadata.deletionTimestamp) continue;
    usage.desktops += 1;
    const t = byName.get(d.spec.templateRef.name);
    if (!t) continue;
    const s = sizeOf(t);
    usage.vcpus += s.vcpus;
    usage.memory += s.memory;
  }
  return usage;
}

export interface QuotaExceeded {
  quota: 'desktops' | 'vcpus' | 'memory';
  message: string;
}

/**
 * The first limit that one more desktop of `size` would cross, in the order desktops,
 * vcpus, memory; undefined when it fits (or the tenant has no quota).
 */
export function exceeded(quota: TenantQuota | undefined, used: Usage, size: Size): QuotaExceeded | undefined {
  if (!quota) return undefined;
  const over = (name: QuotaExceeded['quota'], limit: number, inUse: number, needs: number, show: (n: number) => string = String): QuotaExceeded | undefined =>
    inUse + needs > limit ? { quota: name, message: `quota exceeded: ${name} ${show(inUse)}/${show(limit)} used, this desktop needs ${show(needs)}` } : undefined;
  return (
    (quota.desktops !== undefined ? over('desktops', quota.desktops, used.desktops, 1) : undefined) ??
    (quota.vcpus !== undefined ? over('vcpus', quota.vcpus, used.vcpus, size.vcpus) : undefined) ??
    (quota.memory !== undefined ? over('memory', parseQuantity(quota.memory), used.memory, size.memory, formatQuantity) : undefined)
  );
}
