/**
 * The isolation rule, in one place: anything of another tenant is 404 (its existence is
 * never revealed), an action the caller's role does not allow on their own tenant's
 * objects is 403, and platform ops read and act across tenants.
 */
import { DNS_SUBDOMAIN } from '@deskplane/api';
import type { Caller } from './caller';
import { BadRequest, Forbidden, NotFound } from './errors';

export const isOps = (c: Caller): boolean => c.roles.has('platform-ops');
export const isTenantAdmin = (c: Caller): boolean => c.roles.has('tenant-admin');

/** Ops-only methods check the role before anything else, so their 403 says nothing about the target. */
export function requireOps(c: Caller, what: string): void {
  if (!isOps(c)) throw new Forbidden(`${what} is for platform operators`);
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = new RegExp(DNS_SUBDOMAIN);

/** A namespace-like name (DNS-1123 label, at most 63): desktop and tenant names. */
export function checkLabel(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new BadRequest(`${field} is required`, field);
  if (value.length > 63) throw new BadRequest(`${field} must be at most 63 characters`, field);
  if (!LABEL.test(value)) throw new BadRequest(`${field} must consist of lower-case letters, digits and '-', and start and end with a letter or digit`, field);
  return value;
}

/** An object name (DNS-1123 subdomain, at most 253): templates, hosts, migrations. */
export function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new BadRequest(`${field} is required`, field);
  if (value.length > 253 || !SUBDOMAIN.test(value)) throw new BadRequest(`${field} must be a lower-case DNS name (letters, digits, '-' and '.')`, field);
  return value;
}

/**
 * The tenant a call acts in. Ops name any tenant (or none: `undefined` = every tenant, only
 * where `allowAll`); everyone else acts in their own, and naming another is a 404.
 */
export function tenantScope(c: Caller, tenant: string | undefined, opts: { allowAll?: boolean } = {}): string | undefined {
  if (isOps(c)) {
    if (tenant === undefined) return opts.allowAll ? undefined : c.tenant;
    return checkLabel(tenant, 'tenant');
  }
  if (tenant !== undefined && tenant !== c.tenant) throw new NotFound(`tenant ${JSON.stringify(tenant)} not found`);
  return c.tenant;
}

/** Like tenantScope, for methods that always act in exactly one tenant. */
export function oneTenant(c: Caller, tenant: string | undefined): string {
  return tenantScope(c, tenant) ?? c.tenant;
}

/** Whether the caller sees every object of this tenant, or only their own. */
export function seesWholeTenant(c: Caller, tenant: string): boolean {
  return isOps(c) || (isTenantAdmin(c) && tenant === c.tenant);
}

/** Where the API records what callers did (an AuditLog, e.g. MemoryAuditLog or a Redis stream). */
export interface AuditSink {
  record(entry: { action: string; tenant?: string; user: string; desktop?: string; details?: Record<string, unknown> }): Promise<void> | void;
}

/**
 * Best effort: the action already happened, so a failing sink never fails it. `desktop`
 * is recorded as `namespace/name`, as the gateway's session audit names desktops.
 */
export async function audit(sink: AuditSink | undefined, c: Caller, action: string, fields: { tenant?: string; desktop?: string; details?: Record<string, unknown> }, onError?: (err: unknown) => void): Promise<void> {
  if (!sink) return;
  const desktop = fields.desktop !== undefined && !fields.desktop.includes('/') && fields.tenant !== undefined ? `${fields.tenant}/${fields.desktop}` : fields.desktop;
  try {
    await sink.record({ action, user: c.user, ...fields, ...(desktop !== undefined ? { desktop } : {}) });
  } catch (err) {
    onError?.(err);
  }
}
