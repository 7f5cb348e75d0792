/**
 * Pure: the tenant quota as the pool sees it. Counted exactly as the API counts it when a
 * user creates a desktop (services/api/src/domain/quota.ts), so a pool never fills past
 * what a user could: every desktop of the namespace not being deleted counts once, with
 * its template's vCPUs and memory; a desktop whose template is gone counts as a desktop
 * only. The message has the API's wording.
 */
import { formatQuantity, parseQuantity, type TenantQuota } from '@deskplane/api';
import type { DesktopObject, TemplateObject } from '../../resources';

export interface Usage {
  desktops: number;
  vcpus: number;
  /** Bytes. */
  memory: number;
}

export interface Size {
  vcpus: number;
  /** Bytes. */
  memory: number;
}

export type QuotaName = 'desktops' | 'vcpus' | 'memory';

export interface QuotaBlock {
  quota: QuotaName;
  message: string;
}

export function sizeOf(t: Pick<TemplateObject, 'spec'>): Size {
  return { vcpus: t.spec.vcpus, memory: parseQuantity(t.spec.memory) };
}

/** What the namespace's desktops use; `sizeOfTemplate` answers by template name. */
export function usageOf(desktops: readonly DesktopObject[], sizeOfTemplate: (name: string) => Size | undefined): Usage {
  const usage: Usage = { desktops: 0, vcpus: 0, memory: 0 };
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

export function plus(u: Usage, s: Size, sign: 1 | -1 = 1): Usage {
  return { desktops: u.desktops + sign, vcpus: u.vcpus + sign * s.vcpus, memory: u.memory + sign * s.memory };
}

/** The first limit (desktops, vcpus, memory) one more desktop of `size` would cross; undefined when it fits. */
export function quotaBlock(quota: TenantQuota | undefined, used: Usage, size: Size): QuotaBlock | undefined {
  if (!quota) return undefined;
  const over = (name: QuotaName, limit: number, inUse: number, needs: number, show: (n: number) => string = String): QuotaBlock | undefined =>
    inUse + needs > limit ? { quota: name, message: `quota exceeded: ${name} ${show(inUse)}/${show(limit)} used, this desktop needs ${show(needs)}` } : undefined;
  return (
    (quota.desktops !== undefined ? over('desktops', quota.desktops, used.desktops, 1) : undefined) ??
    (quota.vcpus !== undefined ? over('vcpus', quota.vcpus, used.vcpus, size.vcpus) : undefined) ??
    (quota.memory !== undefined ? over('memory', parseQuantity(quota.memory), used.memory, size.memory, formatQuantity) : undefined)
  );
}
