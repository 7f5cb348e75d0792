/**
 * Pure: the DesktopPolicy one session gets, in the units the gateway enforces (channel
 * type numbers, bytes per second, milliseconds).
 *
 * Which policies count: those of the session's namespace (tenant) that bind the user (by
 * name, by one of the groups, or allUsersInNamespace), not being deleted, and not marked
 * Valid=False by the operator.
 *
 * Precedence, first wins — the operator's resolveEffectivePolicy order, so the gateway
 * enforces what the operator reports:
 *   0. `preferred` (the policy recorded in the ticket at mint), if it still exists and binds;
 *   1. higher `spec.priority`;
 *   2. the more specific binding: user by name > one of the user's groups > whole namespace;
 *   3. the name, alphabetically, so the result never depends on list order.
 * Field by field, the first policy in that order that sets a field decides it; unset
 * fields fall through (per-channel limits channel by channel; `deniedChannels` is one
 * field, so a higher policy that sets it, even to [], replaces lower lists).
 *
 * When nothing binds, `preferred` still applies alone if it exists (the template's
 * defaultPolicyRef: "applied when no other policy binds the user"); else UNRESTRICTED.
 * `tenantKbps` is the namespace's, not the user's: the lowest of every counted policy.
 */
import {
  BandwidthChannels,
  DeniableChannels,
  isFalse,
  type ClipboardDirection,
  type DesktopPolicy,
} from '@deskplane/api';
import { ChannelType } from '@deskplane/spice-protocol';
import { channelTypeOf } from '../channel-names';

export interface EffectivePolicy {
  /** The policy that decided first ("" = none). */
  name: string;
  /** Channel types refused at link time; never main, display or cursor. */
  deniedChannels: ReadonlySet<number>;
  /** Per channel type, per session, each direction. */
  channelBytesPerSec: ReadonlyMap<number, number>;
  /** All channels of one session, each direction. */
  sessionBytesPerSec?: number;
  /** All sessions of one user in this tenant, each direction. */
  userBytesPerSec?: number;
  /** All sessions of the tenant, each direction. */
  tenantBytesPerSec?: number;
  idleTimeoutMs?: number;
  maxSessionMs?: number;
  maxConcurrentSessions?: number;
  clipboard: ClipboardDirection;
}

export interface PolicySubject {
  tenant: string;
  user: string;
  groups: readonly string[];
}

export const UNRESTRICTED: EffectivePolicy = Object.freeze({
  name: '',
  deniedChannels: new Set<number>(),
  channelBytesPerSec: new Map<number, number>(),
  clipboard: 'both',
});

/** The operator's condition type for a policy its semantic checks rejected. */
export const POLICY_VALID_CONDITION = 'Valid';

/** kbit/s as DesktopPolicy writes them → bytes/s. */
export const kbpsToBytesPerSec = (kbps: number): number => kbps * 125;

/** The session-making channels: refusing them breaks the session instead of limiting it. */
export const UNDENIABLE: ReadonlySet<number> = new Set([ChannelType.MAIN, ChannelType.DISPLAY, ChannelType.CURSOR]);

type Binding = 'user' | 'group' | 'namespace';
const RANK: Record<Binding, number> = { user: 3, group: 2, namespace: 1 };

function bindingOf(p: DesktopPolicy, who: PolicySubject): Binding | undefined {
  const s = p.spec.subjects;
  if (s.users?.includes(who.user)) return 'user';
  if (s.groups?.some((g) => who.groups.includes(g))) return 'group';
  if (s.allUsersInNamespace) return 'namespace';
  return undefined;
}

const counts = (p: DesktopPolicy, tenant: string): boolean =>
  p.metadata.namespace === tenant && !p.metadata.deletionTimestamp && !isFalse(p.status?.conditions, POLICY_VALID_CONDITION);

/** The counted policies that bind `who`, in precedence order. */
export function bindingOrder(policies: readonly DesktopPolicy[], who: PolicySubject, preferred?: string): DesktopPolicy[] {
  const counted = policies.filter((p) => counts(p, who.tenant));
  const bound = counted
    .map((p) => ({ p, binding: bindingOf(p, who) }))
    .filter((x): x is { p: DesktopPolicy; binding: Binding } => x.binding !== undefined)
    .sort(
      (a, b) =>
        Number(b.p.metadata.name === preferred) - Number(a.p.metadata.name === preferred) ||
        (b.p.spec.priority ?? 0) - (a.p.spec.priority ?? 0) ||
        RANK[b.binding] - RANK[a.binding] ||
        (a.p.metadata.name ?? '').localeCompare(b.p.metadata.name ?? ''),
    )
    .map((x) => x.p);
  if (bound.length > 0 || preferred === undefined) return bound;
  const fallback = counted.find((p) => p.metadata.name === preferred);
  return fallback ? [fallback] : [];
}

export function resolvePolicy(policies: readonly DesktopPolicy[], who: PolicySubject, preferred?: string): EffectivePolicy {
  const order = bindingOrder(policies, who, preferred);
  const tenantKbps = lowest(policies.filter((p) => counts(p, who.tenant)).map((p) => p.spec.bandwidth?.tenantKbps));
  if (order.length === 0 && tenantKbps === undefined) return UNRESTRICTED;

  const first = <V>(pick: (p: DesktopPolicy) => V | undefined): V | undefined => {
    for (const p of order) {
      const v = pick(p);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const channelBytesPerSec = new Map<number, number>();
  for (const name of BandwidthChannels) {
    const kbps = first((p) => p.spec.bandwidth?.perChannel?.[name]);
    const type = channelTypeOf(name);
    if (kbps !== undefined && type !== undefined) channelBytesPerSec.set(type, kbpsToBytesPerSec(kbps));
  }
  const denied = new Set<number>();
  for (const name of first((p) => p.spec.deniedChannels) ?? []) {
    const type = channelTypeOf(name);
    // The schema allows only deniable names; a client-side check keeps a bad object harmless.
    if ((DeniableChannels as readonly string[]).includes(name) && type !== undefined && !UNDENIABLE.has(type)) denied.add(type);
  }
  const perSecond = (kbps: number | undefined): number | undefined => (kbps === undefined ? undefined : kbpsToBytesPerSec(kbps));
  const ms = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : seconds * 1000);

  const out: EffectivePolicy = {
    name: order[0]?.metadata.name ?? '',
    deniedChannels: denied,
    channelBytesPerSec,
    clipboard: first((p) => p.spec.clipboard) ?? 'both',
  };
  assign(out, 'sessionBytesPerSec', perSecond(first((p) => p.spec.bandwidth?.totalKbps)));
  assign(out, 'userBytesPerSec', perSecond(first((p) => p.spec.bandwidth?.perUserKbps)));
  assign(out, 'tenantBytesPerSec', perSecond(tenantKbps));
  assign(out, 'idleTimeoutMs', ms(first((p) => p.spec.idleTimeoutSeconds)));
  assign(out, 'maxSessionMs', ms(first((p) => p.spec.maxSessionSeconds)));
  assign(out, 'maxConcurrentSessions', first((p) => p.spec.maxConcurrentSessions));
  return out;
}

function lowest(values: ReadonlyArray<number | undefined>): number | undefined {
  const set = values.filter((v): v is number => v !== undefined);
  return set.length ? Math.min(...set) : undefined;
}

/** Leaves the key out when unset, so `toEqual` and spreads see "no limit" as absent. */
function assign<K extends keyof EffectivePolicy>(o: EffectivePolicy, key: K, v: EffectivePolicy[K] | undefined): void {
  if (v !== undefined) o[key] = v;
}
