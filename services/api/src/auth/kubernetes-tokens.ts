import { createHash } from 'node:crypto';
import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Caller, Role } from '../domain/caller';
import { ApiError, Forbidden, Unauthorized } from '../domain/errors';
import type { RoleGroups } from './verifier';

/**
 * Kubernetes credentials at the API: a bearer token that no trusted issuer signed is handed
 * to the cluster's TokenReview, so whatever `kubectl` authenticates with (static tokens,
 * service-account tokens, a webhook, OIDC the API does not trust directly) opens consoles too.
 * The tenant is the namespace named by one group with a configured prefix
 * (`deskplane:tenant:acme` → `acme`); roles come from the same group names as for OIDC.
 */

/** Who the cluster says a token belongs to; null when the cluster does not authenticate it. */
export interface ReviewedUser {
  username: string;
  uid?: string;
  groups: string[];
}

export interface TokenReviewer {
  review(token: string): Promise<ReviewedUser | null>;
}

export interface KubernetesAuthOptions {
  /** Groups starting with this name a tenant (default `deskplane:tenant:`). */
  tenantGroupPrefix: string;
  roleGroups: RoleGroups;
  /** How long an answer is reused for the same token (default 30 s; a revoked token lives that long). */
  cacheTtlMs?: number;
  /** Most cached answers kept (default 10,000; the oldest go first). */
  cacheSize?: number;
  now?: () => number;
}

export const DEFAULT_TENANT_GROUP_PREFIX = 'deskplane:tenant:';
const TENANT = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The Caller of a user the cluster authenticated; pure, so every mapping rule is tested fast. */
export function callerFromKubeUser(user: ReviewedUser, opts: Pick<KubernetesAuthOptions, 'tenantGroupPrefix' | 'roleGroups'>): Caller {
  const roles = new Set<Role>(['user']);
  if (opts.roleGroups.tenantAdmin && user.groups.includes(opts.roleGroups.tenantAdmin)) roles.add('tenant-admin');
  if (opts.roleGroups.platformOps && user.groups.includes(opts.roleGroups.platformOps)) roles.add('platform-ops');
  const tenants = [...new Set(user.groups.filter((g) => g.startsWith(opts.tenantGroupPrefix)).map((g) => g.slice(opts.tenantGroupPrefix.length)))];
  for (const t of tenants) {
    if (!TENANT.test(t)) throw new Forbidden(`group ${JSON.stringify(opts.tenantGroupPrefix + t)} does not name a namespace`);
  }
  // One tenant per caller: with two, which desktops "mine" means would be a guess.
  if (tenants.length > 1) throw new Forbidden(`user ${user.username} is in several tenant groups (${tenants.join(', ')}); Deskplane needs exactly one`);
  const tenant = tenants[0] ?? '';
  if (tenant === '' && !roles.has('platform-ops')) {
    throw new Forbidden(`user ${user.username} belongs to no tenant: add them to a group named ${opts.tenantGroupPrefix}<namespace>`);
  }
  return { subject: user.uid || user.username, user: user.username, tenant, groups: user.groups, roles };
}

/**
 * TokenReview with a short cache keyed by the token's hash (the token itself is never kept),
 * so a console request does not cost the cluster a review each time. Refusals are cached as
 * well: a client retrying a bad token cannot turn the API into a TokenReview amplifier.
 */
export class KubernetesAuthenticator {
  private readonly cache = new Map<string, { at: number; caller?: Caller; error?: ApiError }>();
  private readonly ttl: number;
  private readonly size: number;
  private readonly now: () => number;

  constructor(
    private readonly reviewer: TokenReviewer,
    private readonly opts: KubernetesAuthOptions,
  ) {
    this.ttl = opts.cacheTtlMs ?? 30_000;
    this.size = opts.cacheSize ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  async authenticate(token: string): Promise<Caller> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttl) {
      if (hit.error) throw hit.error;
      return hit.caller!;
    }
    let user: ReviewedUser | null;
    try {
      user = await this.reviewer.review(token);
    } catch (err) {
      // The cluster could not answer: the token may be fine. Not cached.
      throw new ApiError(503, 'Unavailable', `the cluster could not review the token (${(err as Error).message}); try again`);
    }
    let entry: { caller?: Caller; error?: ApiError };
    if (!user) entry = { error: new Unauthorized('token is not valid: neither a trusted issuer nor the cluster accepts it') };
    else {
      try {
        entry = { caller: callerFromKubeUser(user, this.opts) };
      } catch (err) {
        entry = { error: err as ApiError };
      }
    }
    this.remember(key, entry);
    if (entry.error) throw entry.error;
    return entry.caller!;
  }

  private remember(key: string, entry: { caller?: Caller; error?: ApiError }): void {
    this.cache.delete(key);
    this.cache.set(key, { at: this.now(), ...entry });
    while (this.cache.size > this.size) this.cache.delete(this.cache.keys().next().value!);
  }
}

/** A TokenReviewer asking the cluster of `kubeconfig` (unset: in-cluster, $KUBECONFIG or ~/.kube). */
export function clusterTokenReviewer(kubeconfig?: string): TokenReviewer {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    async review(token) {
      const r = await api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
      const u = r.status?.user;
      if (!r.status?.authenticated || !u?.username) return null;
      return { username: u.username, ...(u.uid && { uid: u.uid }), groups: u.groups ?? [] };
    },
  };
}
