import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Caller, Role } from '../domain/caller';
import { ApiError, Forbidden, Unauthorized } from '../domain/errors';

/**
 * One verifier for every issuer the API trusts: the configured OIDC provider (keys from its
 * JWKS URL) and the built-in identity provider (its own key). The token's `iss` picks the
 * issuer; signature, `aud`, `exp`/`nbf` and the algorithm are then checked against that
 * issuer alone, and the claims are mapped to a Caller.
 */

export interface ClaimMapping {
  /** Claim holding the user name (default `preferred_username`). */
  user: string;
  /** Claim holding the tenant, i.e. the namespace of the user's desktops (default `deskplane_tenant`). */
  tenant: string;
  /** Claim holding the group names (default `groups`). */
  groups: string;
  /** Claim holding Deskplane role names directly; only for issuers that speak them (the built-in one). */
  roles?: string;
}

export interface TrustedIssuer {
  issuer: string;
  audience: string;
  keys: JWTVerifyGetKey;
  claims: ClaimMapping;
  algorithms: string[];
}

/** Group names that grant roles, whichever issuer the groups came from. */
export interface RoleGroups {
  tenantAdmin?: string;
  platformOps?: string;
}

export const DEFAULT_CLAIMS: ClaimMapping = { user: 'preferred_username', tenant: 'deskplane_tenant', groups: 'groups' };
/** Asymmetric algorithms only: a shared-secret HS256 token could be forged by anyone holding the secret. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function oidcIssuer(opts: { issuer: string; audience: string; jwksUrl: string; claims?: Partial<ClaimMapping>; algorithms?: string[] }): TrustedIssuer {
  return {
    issuer: opts.issuer,
    audience: opts.audience,
    keys: createRemoteJWKSet(new URL(opts.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 }),
    claims: { ...DEFAULT_CLAIMS, ...opts.claims, roles: undefined },
    algorithms: opts.algorithms ?? ASYMMETRIC_ALGORITHMS,
  };
}

const TENANT = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ROLES: readonly Role[] = ['user', 'tenant-admin', 'platform-ops'];

export interface TokenVerifierOptions {
  roleGroups?: RoleGroups;
  /** Allowed clock skew for exp/nbf/iat. Default 5 s. */
  clockToleranceSeconds?: number;
  now?: () => number;
  /**
   * Asked for tokens no trusted issuer signed (not a JWT, or an unknown `iss`): the cluster's
   * TokenReview, so `kubectl` credentials work here too. Unset = such tokens are refused.
   */
  fallback?: { authenticate(token: string): Promise<Caller> };
}

export class TokenVerifier {
  private readonly roleGroups: RoleGroups;

  constructor(
    private readonly issuers: readonly TrustedIssuer[],
    private readonly opts: TokenVerifierOptions = {},
  ) {
    this.roleGroups = opts.roleGroups ?? {};
  }

  /** The Caller a bearer token stands for; throws Unauthorized (401), Forbidden (403) or a 503 ApiError. */
  async verify(token: string): Promise<Caller> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      if (this.opts.fallback) return this.opts.fallback.authenticate(token);
      throw new Unauthorized('bearer token is not a JWT');
    }
    const trusted = this.issuers.find((i) => i.issuer === unverified.iss);
    if (!trusted && this.opts.fallback) return this.opts.fallback.authenticate(token);
    if (!trusted) throw new Unauthorized(`token issuer ${JSON.stringify(unverified.iss ?? null)} is not trusted`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: trusted.audience,
        algorithms: trusted.algorithms,
        clockTolerance: this.opts.clockToleranceSeconds ?? 5,
        ...(this.opts.now && { currentDate: new Date(this.opts.now()) }),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw verifyError(err);
    }
    return this.toCaller(payload, trusted.claims);
  }

  private toCaller(payload: JWTPayload, claims: ClaimMapping): Caller {
    const user = claim(payload, claims.user);
    if (typeof user !== 'string' || user === '') throw new Unauthorized(`token has no ${claims.user} claim (the user name)`);
    const groups = stringList(claim(payload, claims.groups));
    const roles = new Set<Role>(['user']);
    if (claims.roles) for (const r of stringList(claim(payload, claims.roles))) if ((ROLES as string[]).includes(r)) roles.add(r as Role);
    if (this.roleGroups.tenantAdmin && groups.includes(this.roleGroups.tenantAdmin)) roles.add('tenant-admin');
    if (this.roleGroups.platformOps && groups.includes(this.roleGroups.platformOps)) roles.add('platform-ops');
    const tenantClaim = claim(payload, claims.tenant);
    const tenant = typeof tenantClaim === 'string' ? tenantClaim : '';
    if (tenant !== '' && !TENANT.test(tenant)) throw new Forbidden(`token's ${claims.tenant} claim ${JSON.stringify(tenant)} is not a namespace name`);
    // Platform ops work across tenants and may have none; everyone else acts inside one.
    if (tenant === '' && !roles.has('platform-ops')) throw new Forbidden(`token has no ${claims.tenant} claim: the caller belongs to no tenant`);
    return { subject: payload.sub!, user, tenant, groups, roles };
  }
}

/** A claim by exact name (URL-style names contain dots), else by a dotted path into nested objects. */
function claim(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let v: unknown = payload;
  for (const part of name.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

function stringList(v: unknown): string[] {
  if (typeof v === 'string') return v === '' ? [] : [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}

function verifyError(err: unknown): ApiError {
  if (err instanceof errors.JWTExpired) return new Unauthorized('token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new Unauthorized('token audience is not this API');
    if (err.claim === 'nbf') return new Unauthorized('token is not valid yet');
    return new Unauthorized(`token claim ${err.claim} is invalid (${err.reason})`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new Unauthorized('token signature is invalid');
  if (err instanceof errors.JWKSNoMatchingKey) return new Unauthorized('token is signed with a key the issuer does not publish');
  if (err instanceof errors.JOSEAlgNotAllowed) return new Unauthorized('token signing algorithm is not allowed');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new Unauthorized('token is malformed');
  // The issuer's key set could not be fetched or read: the token may be fine, we cannot tell.
  return new ApiError(503, 'Unavailable', 'the identity provider keys are unavailable; try again');
}
