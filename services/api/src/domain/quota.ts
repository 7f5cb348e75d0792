/**
 * The API's view of the tenant quota: the shared arithmetic of @deskplane/api (the pool
 * controller counts with the same functions), over the tenant's templates by name.
 */
import { desktopSizeOf, quotaExceeded, quotaUsageOf, type DesktopSize, type QuotaExceeded as SharedQuotaExceeded, type QuotaUsage, type TenantQuota } from '@deskplane/api';
import type { DesktopObject, TemplateObject } from './resources';

export type Usage = QuotaUsage;
export type Size = DesktopSize;
export type QuotaExceeded = SharedQuotaExceeded;

export const sizeOf = desktopSizeOf;

export function usageOf(desktops: readonly DesktopObject[], templates: readonly TemplateObject[]): Usage {
  const byName = new Map(templates.map((t) => [t.metadata.name, t] as const));
  return quotaUsageOf(desktops, (name) => {
    const t = byName.get(name);
    return t && desktopSizeOf(t);
  });
}

/** The first limit (desktops, vcpus, memory) one more desktop of `size` would cross; undefined when it fits. */
export function exceeded(quota: TenantQuota | undefined, used: Usage, size: Size): QuotaExceeded | undefined {
  return quotaExceeded(quota, used, size);
}
