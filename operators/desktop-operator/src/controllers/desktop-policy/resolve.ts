/**
 * Pure: the policy one user's session gets, from every DesktopPolicy of the namespace.
 *
 * Precedence (first wins):
 *   1. higher `spec.priority`;
 *   2. then the more specific binding: the user by name > one of the user's groups >
 *      `allUsersInNamespace`;
 *   3. then the policy name (alphabetical), so the result never depends on list order.
 *
 * Merge: field by field, the first policy in that order that SETS a field decides it; a
 * field a policy leaves unset falls through to the next. Per-channel bandwidth limits
 * merge channel by channel. `deniedChannels` is one field: a higher policy that sets it
 * (even to `[]`) replaces the lower ones' lists — that is how a higher-priority policy
 * grants a channel back. Nothing set anywhere: unlimited, nothing denied, clipboard both.
 *
 * Policies being deleted, in other namespaces, or marked Valid=False are ignored. When no
 * policy binds the user, `defaultPolicy` (the template's `defaultPolicyRef`) applies alone.
 */
import { isFalse, type BandwidthChannel, type ClipboardDirection, type DeniableChannel, type DesktopPolicy } from '@deskplane/api';

export const POLICY_VALID = 'Valid';

export type Binding = 'user' | 'group' | 'namespace';
const RANK: Record<Binding, number> = { user: 3, group: 2, namespace: 1 };

export interface EffectivePolicy {
  /** Binding policies, in precedence order, with how each binds. */
  policies: Array<{ name: string; priority: number; binding: Binding | 'default' }>;
  bandwidth: { totalKbps?: number; perChannel: Partial<Record<BandwidthChannel, number>> };
  deniedChannels: DeniableChannel[];
  clipboard: ClipboardDirection;
  maxConcurrentSessions?: number;
  idleTimeoutSeconds?: number;
  maxSessionSeconds?: number;
  /** Which policy decided each field (`bandwidth.perChannel.display`, `clipboard`, …). */
  sources: Record<string, string>;
}

/** How the policy binds this user, the most specific way; undefined when it does not. */
export function bindingOf(p: DesktopPolicy, user: string, groups: readonly string[]): Binding | undefined {
  const s = p.spec.subjects;
  if (s.users?.includes(user)) return 'user';
  if (s.groups?.some((g) => groups.includes(g))) return 'group';
  if (s.allUsersInNamespace) return 'namespace';
  return undefined;
}

export function resolveEffectivePolicy(
  policies: readonly DesktopPolicy[],
  user: string,
  groups: readonly string[],
  namespace: string,
  opts: { defaultPolicy?: DesktopPolicy } = {},
): EffectivePolicy {
  const bound = policies
    .filter((p) => p.metadata.namespace === namespace && !p.metadata.deletionTimestamp && !isFalse(p.status?.conditions, POLICY_VALID))
    .map((p) => ({ p, binding: bindingOf(p, user, groups) }))
    .filter((x): x is { p: DesktopPolicy; binding: Binding } => x.binding !== undefined)
    .sort(
      (a, b) =>
        (b.p.spec.priority ?? 0) - (a.p.spec.priority ?? 0) ||
        RANK[b.binding] - RANK[a.binding] ||
        (a.p.metadata.name ?? '').localeCompare(b.p.metadata.name ?? ''),
    );
  const order: Array<{ p: DesktopPolicy; binding: Binding | 'default' }> =
    bound.length > 0 ? bound : opts.defaultPolicy && !isFalse(opts.defaultPolicy.status?.conditions, POLICY_VALID) ? [{ p: opts.defaultPolicy, binding: 'default' }] : [];

  const out: EffectivePolicy = {
    policies: order.map(({ p, binding }) => ({ name: p.metadata.name ?? '', priority: p.spec.priority ?? 0, binding })),
    bandwidth: { perChannel: {} },
    deniedChannels: [],
    clipboard: 'both',
    sources: {},
  };
  const decided = new Set<string>();
  const take = <V>(field: string, value: V | undefined, name: string, apply: (v: V) => void): void => {
    if (value === undefined || decided.has(field)) return;
    decided.add(field);
    out.sources[field] = name;
    apply(value);
  };
  for (const { p } of order) {
    const name = p.metadata.name ?? '';
    const s = p.spec;
    take('bandwidth.totalKbps', s.bandwidth?.totalKbps, name, (v) => (out.bandwidth.totalKbps = v));
    for (const [channel, kbps] of Object.entries(s.bandwidth?.perChannel ?? {}) as Array<[BandwidthChannel, number | undefined]>) {
      take(`bandwidth.perChannel.${channel}`, kbps, name, (v) => (out.bandwidth.perChannel[channel] = v));
    }
    take('deniedChannels', s.deniedChannels, name, (v) => (out.deniedChannels = [...new Set(v)].sort()));
    take('clipboard', s.clipboard, name, (v) => (out.clipboard = v));
    take('maxConcurrentSessions', s.maxConcurrentSessions, name, (v) => (out.maxConcurrentSessions = v));
    take('idleTimeoutSeconds', s.idleTimeoutSeconds, name, (v) => (out.idleTimeoutSeconds = v));
    take('maxSessionSeconds', s.maxSessionSeconds, name, (v) => (out.maxSessionSeconds = v));
  }
  return out;
}
