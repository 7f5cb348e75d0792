/**
 * Pure: which desktopIdleSeconds applies to a desktop.
 *
 * Candidates: the policy its template names (`defaultPolicyRef`), and every policy of the
 * namespace binding the owner by user name or `allUsersInNamespace` (the operator does not
 * know users' groups, so group bindings never count here). Order: higher priority first;
 * on equal priority the template's policy first (a binding must outrank it to win), then
 * a user binding before a namespace one, then by name. The first candidate that sets
 * desktopIdleSeconds decides it, as the gateway merges session limits field by field.
 * Policies being deleted or marked Valid=False are skipped.
 */
import { isFalse, type DesktopPolicy, type DesktopTemplate, type VirtualDesktop } from '@deskplane/api';
import { POLICY_VALID } from '../controllers/desktop-policy/resolve';

export interface IdleRule {
  seconds: number;
  /** The policy that set it. */
  policy: string;
}

type Kind = 'default' | 'user' | 'namespace';
const RANK: Record<Kind, number> = { default: 3, user: 2, namespace: 1 };

const usable = (p: DesktopPolicy): boolean => !p.metadata.deletionTimestamp && !isFalse(p.status?.conditions, POLICY_VALID);

function kindOf(p: DesktopPolicy, owner: string): Kind | undefined {
  const s = p.spec.subjects;
  if (s.users?.includes(owner)) return 'user';
  if (s.allUsersInNamespace) return 'namespace';
  return undefined;
}

export function resolveIdleRule(
  desktop: Pick<VirtualDesktop, 'metadata' | 'spec'>,
  template: Pick<DesktopTemplate, 'spec'> | undefined,
  policies: readonly DesktopPolicy[],
): IdleRule | undefined {
  const owner = desktop.spec.owner;
  const ns = desktop.metadata.namespace;
  if (owner === undefined) return undefined;
  const defaultName = template?.spec.defaultPolicyRef?.name;
  const candidates: { p: DesktopPolicy; kind: Kind }[] = [];
  for (const p of policies) {
    if (p.metadata.namespace !== ns || !usable(p)) continue;
    const kind = p.metadata.name === defaultName ? 'default' : kindOf(p, owner);
    if (kind) candidates.push({ p, kind });
  }
  candidates.sort(
    (a, b) =>
      (b.p.spec.priority ?? 0) - (a.p.spec.priority ?? 0) ||
      RANK[b.kind] - RANK[a.kind] ||
      (a.p.metadata.name ?? '').localeCompare(b.p.metadata.name ?? ''),
  );
  const hit = candidates.find((c) => c.p.spec.desktopIdleSeconds !== undefined);
  return hit && { seconds: hit.p.spec.desktopIdleSeconds!, policy: hit.p.metadata.name ?? '' };
}
