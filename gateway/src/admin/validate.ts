import type { gatewayAdmin } from '@deskplane/grpc-contracts';
import { SERVER_MAX_PASSWORD_BYTES } from '@deskplane/spice-protocol';
import type { UpstreamTarget } from '../tickets';
import { InvalidArgumentError } from './errors';
import type { AdminMintRequest } from './types';

/**
 * Pure request validation for the admin API: each function turns a decoded request into
 * what the gateway's parts take, or throws InvalidArgumentError naming the field and the
 * rule. Values are quoted only where they cannot be secret (never a password or ticket).
 */

export const LIMITS = {
  defaultTtlSeconds: 60,
  /** Console tickets are meant to be short-lived: an hour is already generous. */
  maxTtlSeconds: 3_600,
  defaultMigrationTimeoutMs: 10_000,
  maxMigrationTimeoutMs: 600_000,
  maxUserChars: 256,
  maxGroups: 256,
  maxReasonChars: 256,
  defaultKillReason: 'killed by admin',
} as const;

// Kubernetes names: a namespace is a DNS-1123 label, an object name a DNS-1123 subdomain.
const LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
// A host name, IPv4 address or bracket-less IPv6 address; no port, no scheme.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/;
const SESSION_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const TICKET_HASH = /^[0-9a-f]{64}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const fail = (message: string): never => {
  throw new InvalidArgumentError(message);
};

const show = (v: string): string => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);

/** Free text from an identity provider (user ids, group names): non-empty, bounded, printable. */
function text(field: string, v: string, max: number): string {
  if (v === '') fail(`${field} is required`);
  if (v.length > max) fail(`${field} must be at most ${max} characters, got ${v.length}`);
  if (CONTROL.test(v)) fail(`${field} must not contain control characters`);
  return v;
}

function tenantName(field: string, v: string): string {
  if (v === '') fail(`${field} is required`);
  if (!LABEL.test(v)) fail(`${field} must be a namespace name (lowercase letters, digits, '-', at most 63), got ${show(v)}`);
  return v;
}

/**
 * "namespace/name" of a VirtualDesktop. A bare name is completed with `tenant` when one is
 * known; a namespace that is not the tenant is refused (tickets never cross tenants).
 */
export function desktopRef(field: string, v: string, tenant?: string): string {
  if (v === '') fail(`${field} is required`);
  const slash = v.indexOf('/');
  const ns = slash === -1 ? tenant : v.slice(0, slash);
  const name = slash === -1 ? v : v.slice(slash + 1);
  if (ns === undefined) fail(`${field} must be "namespace/name", got ${show(v)}`);
  if (!LABEL.test(ns!)) fail(`${field} must be "namespace/name" with a valid namespace, got ${show(v)}`);
  if (!SUBDOMAIN.test(name)) fail(`${field} must name a VirtualDesktop (lowercase letters, digits, '-', '.'), got ${show(v)}`);
  if (tenant !== undefined && ns !== tenant) fail(`${field} is in namespace "${ns}" but the tenant is "${tenant}"`);
  return `${ns}/${name}`;
}

/** `passwordOptional`: a migration destination, whose guest keeps the password the gateway already holds. */
export function upstream(field: string, u: gatewayAdmin.Upstream | undefined, passwordOptional = false): UpstreamTarget {
  if (u === undefined) return fail(`${field} is required`);
  if (u.host === '') fail(`${field}.host is required`);
  if (u.host.length > 253 || !HOST.test(u.host)) fail(`${field}.host must be a host name or IP address without port or scheme, got ${show(u.host)}`);
  if (!Number.isInteger(u.port) || u.port < 1 || u.port > 65_535) fail(`${field}.port must be 1-65535, got ${u.port}`);
  if (u.password === '' && !passwordOptional) fail(`${field}.password is required`);
  const bytes = Buffer.byteLength(u.password, 'utf8');
  // spice-server reads the password as a C string of at most this many bytes.
  if (bytes > SERVER_MAX_PASSWORD_BYTES) fail(`${field}.password must be at most ${SERVER_MAX_PASSWORD_BYTES} bytes, got ${bytes}`);
  if (u.password.includes('\u0000')) fail(`${field}.password must not contain NUL`);
  return { host: u.host, port: u.port, password: u.password };
}

export function listFilter(req: gatewayAdmin.ListSessionsRequest): { tenant?: string; user?: string; desktop?: string } {
  const tenant = req.tenant === '' ? undefined : tenantName('tenant', req.tenant);
  const user = req.user === '' ? undefined : text('user', req.user, LIMITS.maxUserChars);
  const desktop = req.desktop === '' ? undefined : desktopRef('desktop', req.desktop, tenant);
  return { ...(tenant !== undefined && { tenant }), ...(user !== undefined && { user }), ...(desktop !== undefined && { desktop }) };
}

export function killRequest(req: gatewayAdmin.KillSessionRequest): { key: string; reason: string } {
  if (req.key === '') fail('key is required');
  if (!SESSION_KEY.test(req.key)) fail(`key must be a session key as ListSessions shows it ("gs-…"), got ${show(req.key)}`);
  const reason = req.reason === '' ? LIMITS.defaultKillReason : text('reason', req.reason, LIMITS.maxReasonChars);
  return { key: req.key, reason };
}

export function mintRequest(req: gatewayAdmin.MintTicketRequest): AdminMintRequest {
  const user = text('user', req.user, LIMITS.maxUserChars);
  const tenant = tenantName('tenant', req.tenant);
  if (req.groups.length > LIMITS.maxGroups) fail(`groups must have at most ${LIMITS.maxGroups} entries, got ${req.groups.length}`);
  const groups = req.groups.map((g, i) => text(`groups[${i}]`, g, LIMITS.maxUserChars));
  const desktop = desktopRef('desktop', req.desktop, tenant);
  if (req.policy !== '' && !SUBDOMAIN.test(req.policy)) fail(`policy must be a DesktopPolicy name, got ${show(req.policy)}`);
  const ttl = req.ttlSeconds === 0 ? LIMITS.defaultTtlSeconds : req.ttlSeconds;
  if (ttl > LIMITS.maxTtlSeconds) fail(`ttl_seconds must be at most ${LIMITS.maxTtlSeconds}, got ${ttl}`);
  return {
    user,
    tenant,
    groups: [...new Set(groups)],
    desktop,
    ...(req.policy !== '' && { policy: req.policy }),
    upstream: upstream('upstream', req.upstream),
    ttlMs: ttl * 1_000,
  };
}

export function ticketHash(req: gatewayAdmin.RevokeTicketRequest): string {
  if (req.ticketHash === '') fail('ticket_hash is required');
  if (!TICKET_HASH.test(req.ticketHash)) fail('ticket_hash must be 64 lowercase hex digits (sha256 of the ticket, as MintTicket returned it)');
  return req.ticketHash;
}

export function prepareRequest(req: gatewayAdmin.PrepareMigrationRequest): { desktop: string; destination: UpstreamTarget; timeoutMs: number } {
  const desktop = desktopRef('desktop', req.desktop);
  const timeoutMs = req.timeoutMs === 0 ? LIMITS.defaultMigrationTimeoutMs : req.timeoutMs;
  if (timeoutMs > LIMITS.maxMigrationTimeoutMs) fail(`timeout_ms must be at most ${LIMITS.maxMigrationTimeoutMs}, got ${timeoutMs}`);
  return { desktop, destination: upstream('destination', req.destination, true), timeoutMs };
}

export function finishRequest(req: gatewayAdmin.FinishMigrationRequest): { desktop: string; succeeded: boolean } {
  return { desktop: desktopRef('desktop', req.desktop), succeeded: req.succeeded };
}
