import { Controller, Inject } from '@nestjs/common';
import type { BuiltinIdp, TokenPair } from '../auth/builtin-idp';
import { Unauthorized } from '../domain/errors';
import { API_RUNTIME, type ApiRuntime } from './deps';
import { route, Route, type RouteContext } from './route';
import { JwksBody, LoginRequest, MeBody, RefreshRequest, TokenPairBody } from './schemas';

const me = route({ method: 'GET', path: '/auth/me', summary: 'Who I am: user, tenant, groups and roles from my token', tags: ['auth'], response: { 200: MeBody } });

/** Always mounted: whoever issued the token, /auth/me tells what the API made of it. */
@Controller()
export class AuthController {
  @Route(me)
  me({ caller }: RouteContext<typeof me>) {
    return { subject: caller.subject, user: caller.user, tenant: caller.tenant, groups: caller.groups, roles: [...caller.roles] };
  }
}

const login = route({
  method: 'POST',
  path: '/auth/login',
  summary: 'Sign in to the built-in identity provider',
  description: 'Returns a short-lived access token and a single-use refresh token. Rate-limited per client address and, for wrong passwords, per user name (429 with Retry-After).',
  tags: ['auth'],
  public: true,
  body: LoginRequest,
  response: { 200: TokenPairBody },
  errors: [401],
});
const refresh = route({
  method: 'POST',
  path: '/auth/refresh',
  summary: 'Trade a refresh token for new tokens',
  description: 'The refresh token is used up; presenting it again revokes every token of that sign-in.',
  tags: ['auth'],
  public: true,
  body: RefreshRequest,
  response: { 200: TokenPairBody },
  errors: [401],
});
const logout = route({
  method: 'POST',
  path: '/auth/logout',
  summary: 'End a sign-in: its refresh token (and every successor) stops working',
  tags: ['auth'],
  body: RefreshRequest,
  response: { 204: null },
});
const jwks = route({
  method: 'GET',
  path: '/auth/jwks.json',
  summary: "The built-in identity provider's public keys (JWKS)",
  tags: ['auth'],
  public: true,
  response: { 200: JwksBody },
});

/** Mounted only when the built-in identity provider is configured (DESKPLANE_API_USERS_FILE). */
@Controller()
export class BuiltinIdpController {
  private readonly idp: BuiltinIdp;

  constructor(@Inject(API_RUNTIME) private readonly runtime: ApiRuntime) {
    if (!runtime.idp) throw new Error('BuiltinIdpController needs the built-in identity provider');
    this.idp = runtime.idp;
  }

  @Route(login)
  async login({ body, ip }: RouteContext<typeof login>): Promise<TokenPair> {
    const { perIp, failuresPerUser } = this.runtime.loginLimits;
    const userKey = `user:${body.username.toLowerCase()}`;
    const outcome = this.runtime.metrics.logins;
    try {
      perIp.enforce(`ip:${ip}`, 'too many sign-in attempts from this address');
      failuresPerUser.enforceCheck(userKey, 'too many failed sign-ins for this user');
    } catch (err) {
      outcome.inc({ outcome: 'rate_limited' });
      throw err;
    }
    try {
      const tokens = await this.idp.login(body.username, body.password);
      outcome.inc({ outcome: 'success' });
      return tokens;
    } catch (err) {
      if (err instanceof Unauthorized) {
        failuresPerUser.take(userKey);
        outcome.inc({ outcome: 'failure' });
      }
      throw err;
    }
  }

  @Route(refresh)
  refresh({ body }: RouteContext<typeof refresh>): Promise<TokenPair> {
    return this.idp.refresh(body.refreshToken);
  }

  @Route(logout)
  logout({ body, caller }: RouteContext<typeof logout>): void {
    // Someone else's token is not revoked, and the answer does not say whether it existed.
    this.idp.logout(body.refreshToken, caller.user);
  }

  @Route(jwks)
  jwks() {
    return this.idp.jwks();
  }
}
