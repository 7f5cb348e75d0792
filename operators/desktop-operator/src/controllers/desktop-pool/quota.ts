/**
 * Pure: the tenant quota as the pool sees it — the same arithmetic as the API's create
 * (@deskplane/api quota.ts), so a pool never fills past what a user could.
 */
import { desktopSizeOf, quotaExceeded, quotaUsageOf, type DesktopSize, type QuotaExceeded, type QuotaName as SharedQuotaName, type QuotaUsage, type TenantQuota } from '@deskplane/api';
import type { DesktopObject, TemplateObject } from '../../resources';

export type Usage = QuotaUsage;
export type Size = DesktopSize;
export type QuotaName = SharedQuotaName;
export type QuotaBlock = QuotaExceeded;

export function sizeOf(t: Pick<TemplateObject, 'spec'>): Size {
  return desktopSizeOf(t);
}

/** What the namespace's desktops use; `sizeOfTemplate` answers by template name. */
export function usageOf(desktops: readonly DesktopObject[], sizeOfTemplate: (name: string) => Size | undefined): Usage {
  return quotaUsageOf(desktops, sizeOfTemplate);
}

export function plus(u: Usage, s: Size, sign: 1 | -1 = 1): Usage {
  return { desktops: u.desktops + sign, vcpus: u.vcpus + sign * s.vcpus, memory: u.memory + sign * s.memory };
}

/** The first limit (desktops, vcpus, memory) one more desktop of `size` would cross; undefined when it fits. */
export function quotaBlock(quota: TenantQuota | undefined, used: Usage, size: Size): QuotaBlock | undefined {
  return quotaExceeded(quota, used, size);
}
