import { join } from 'node:path';
import { createLocalJWKSet, SignJWT } from 'jose';
import type { Caller } from '../domain/caller';
import { Unauthorized } from '../domain/errors';
import { dummyPasswordHash, verifyPassword } from './passwords';
import { RefreshTokenStore } from './refresh-tokens';
import { loadOrCreateSigningKey, type PublicJwk, type SigningKey } from './signing-key';
import { UsersFile, type BuiltinUser } from './users-file';
import type { ClaimMapping, TrustedIssuer } from './verifier';

/**
 * The identity provider of the local run: users from a JSON file, `login` → a short-lived
 * ES256 access token plus a rotating refresh token. Its tokens carry the same claims an
 * OIDC provider's would, and the API verifies them through the same TokenVerifier.
 */

export interface BuiltinIdpOptions {
  dataDir: string;
  usersFile: string;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  now?: () => number;
}

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds. */
  expiresIn: number;
  refreshToken: string;
  /** Seconds. */
  refreshExpiresIn: number;
}

/** The built-in issuer's claim names (fixed: it is ours). */
export const BUILTIN_CLAIMS: ClaimMapping = { user: 'preferred_username', tenant: 'deskplane_tenant', groups: 'groups', roles: 'deskplane_roles' };
export const REFRESH_TOKENS_FILE = 'refresh-tokens.json';

const WRONG = 'wrong username or password';

export class BuiltinIdp {
  private readonly refreshTokens: RefreshTokenStore;
  private readonly now: () => number;

  private constructor(
    private readonly opts: BuiltinIdpOptions,
    private readonly key: SigningKey,
    private readonly users: UsersFile,
  ) {
    this.now = opts.now ?? Date.now;
    this.refreshTokens = new RefreshTokenStore({ ttlMs: opts.refreshTtlSeconds * 1000, file: join(opts.dataDir, REFRESH_TOKENS_FILE), now: this.now });
  }

  /** Reads the users file and the signing key (generating it on first start). */
  static async open(opts: BuiltinIdpOptions): Promise<BuiltinIdp> {
    const users = new UsersFile(opts.usersFile);
    const key = await loadOrCreateSigningKey(opts.dataDir);
    return new BuiltinIdp(opts, key, users);
  }

  get issuer(): string {
    return this.opts.issuer;
  }

  /** The public key set, as served at /auth/jwks.json. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: [this.key.publicJwk] };
  }

  /** How the TokenVerifier trusts this provider. */
  trustedIssuer(): TrustedIssuer {
    return { issuer: this.opts.issuer, audience: this.opts.audience, keys: createLocalJWKSet(this.jwks()), claims: BUILTIN_CLAIMS, algorithms: ['ES256'] };
  }

  async login(username: string, password: string): Promise<TokenPair> {
    const user = this.users.get(username);
    // Unknown users cost one scrypt too, so timing does not tell which names exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) throw new Unauthorized(WRONG);
    return this.tokensFor(user, this.refreshTokens.issue(user.username));
  }

  /** Rotates the refresh token; the presented one is refused from then on. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const outcome = this.refreshTokens.rotate(refreshToken);
    if (!outcome.ok) {
      throw new Unauthorized(outcome.reason === 'expired' ? 'refresh token has expired; log in again' : 'refresh token is not valid; log in again');
    }
    // The file is read again: a user removed since login gets no new access token.
    const user = this.users.get(outcome.user);
    if (!user) {
      this.refreshTokens.revoke(outcome.token);
      throw new Unauthorized('the user no longer exists');
    }
    return this.tokensFor(user, outcome);
  }

  /** Ends the login `refreshToken` belongs to, if it is `user`'s; true when something was revoked. */
  logout(refreshToken: string, user: string): boolean {
    return this.refreshTokens.revoke(refreshToken, user) !== undefined;
  }

  /** Signs an access token for any Caller (tests; the demo setup). Not reachable over HTTP. */
  async signAccessToken(caller: Pick<Caller, 'subject' | 'user' | 'tenant' | 'groups' | 'roles'>, ttlSeconds = this.opts.accessTtlSeconds): Promise<string> {
    const nowS = Math.floor(this.now() / 1000);
    return new SignJWT({
      preferred_username: caller.user,
      deskplane_tenant: caller.tenant,
      groups: caller.groups,
      deskplane_roles: [...caller.roles],
    })
      .setProtectedHeader({ alg: 'ES256', kid: this.key.kid, typ: 'JWT' })
      .setIssuer(this.opts.issuer)
      .setAudience(this.opts.audience)
      .setSubject(caller.subject)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ttlSeconds)
      .sign(this.key.privateKey);
  }

  private async tokensFor(user: BuiltinUser, refresh: { token: string; expiresAt: number }): Promise<TokenPair> {
    const accessToken = await this.signAccessToken({ subject: user.username, user: user.username, tenant: user.tenant, groups: user.groups, roles: new Set(user.roles) });
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: this.opts.accessTtlSeconds,
      refreshToken: refresh.token,
      refreshExpiresIn: Math.max(0, Math.round((refresh.expiresAt - this.now()) / 1000)),
    };
  }
}
