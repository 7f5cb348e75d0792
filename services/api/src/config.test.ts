import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config';

const builtin = { DESKPLANE_API_USERS_FILE: '/etc/deskplane/users.json' };
const oidc = { DESKPLANE_API_OIDC_ISSUER: 'https://idp.test/realms/x', DESKPLANE_API_OIDC_AUDIENCE: 'deskplane', DESKPLANE_API_OIDC_JWKS_URL: 'https://idp.test/realms/x/certs' };

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('has working defaults with the built-in identity provider', () => {
    const c = parseConfig(builtin);
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.auth.builtin).toMatchObject({ usersFile: '/etc/deskplane/users.json', issuer: 'deskplane-builtin-idp', audience: 'deskplane-api', accessTtlSeconds: 900, refreshTtlSeconds: 43_200 });
    expect(c.auth.builtin!.dataDir).toMatch(/deskplane\/api$/);
    expect(c.auth.oidc).toBeUndefined();
    expect(c.auth.roleGroups).toEqual({ tenantAdmin: 'deskplane-tenant-admins', platformOps: 'deskplane-platform-ops' });
    expect(c.loginRateLimit).toEqual({ perIpPerMinute: 20, failuresPerUserPerMinute: 5 });
    expect(c).toMatchObject({ docs: true, validateResponses: false, trustProxy: false, logLevel: 'info' });
  });

  it('reads the OIDC issuer with its claim mapping and role groups', () => {
    const c = parseConfig({ ...oidc, DESKPLANE_API_OIDC_USER_CLAIM: 'email', DESKPLANE_API_OIDC_GROUPS_CLAIM: 'realm_access.roles', DESKPLANE_API_ADMIN_GROUP: 'vdi-admins', DESKPLANE_API_OPS_GROUP: 'vdi-ops', DESKPLANE_API_OIDC_ALGORITHMS: 'RS256,ES256' });
    expect(c.auth.oidc).toEqual({ issuer: oidc.DESKPLANE_API_OIDC_ISSUER, audience: 'deskplane', jwksUrl: oidc.DESKPLANE_API_OIDC_JWKS_URL, claims: { user: 'email', tenant: 'deskplane_tenant', groups: 'realm_access.roles' }, algorithms: ['RS256', 'ES256'] });
    expect(c.auth.roleGroups).toEqual({ tenantAdmin: 'vdi-admins', platformOps: 'vdi-ops' });
    expect(c.auth.builtin).toBeUndefined();
  });

  it('turns on Kubernetes credentials, alone or beside another issuer', () => {
    expect(parseConfig({ DESKPLANE_API_KUBERNETES_AUTH: 'on' }).auth.kubernetes).toEqual({ tenantGroupPrefix: 'deskplane:tenant:' });
    const c = parseConfig({ ...builtin, DESKPLANE_API_KUBERNETES_AUTH: 'true', DESKPLANE_API_KUBERNETES_TENANT_GROUP_PREFIX: 'system:serviceaccounts:' });
    expect(c.auth.kubernetes).toEqual({ tenantGroupPrefix: 'system:serviceaccounts:' });
    expect(c.auth.builtin).toBeDefined();
    expect(parseConfig(builtin).auth.kubernetes).toBeUndefined();
  });

  it('parses listen addresses, proxies and switches', () => {
    expect(parseConfig({ ...builtin, DESKPLANE_API_LISTEN: '127.0.0.1:0' }).listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseConfig({ ...builtin, DESKPLANE_API_LISTEN: '[::1]:9000' }).listen).toEqual({ host: '::1', port: 9000 });
    expect(parseConfig({ ...builtin, DESKPLANE_API_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(parseConfig({ ...builtin, DESKPLANE_API_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(parseConfig({ ...builtin, DESKPLANE_API_DOCS: 'off', DESKPLANE_API_VALIDATE_RESPONSES: 'yes' })).toMatchObject({ docs: false, validateResponses: true });
  });

  it.each([
    [{}, 'DESKPLANE_API_USERS_FILE', /no way to sign in is configured/],
    [{ DESKPLANE_API_OIDC_ISSUER: 'https://idp.test' }, 'DESKPLANE_API_OIDC_AUDIENCE', /is required with DESKPLANE_API_OIDC_ISSUER/],
    [{ ...oidc, DESKPLANE_API_OIDC_JWKS_URL: undefined }, 'DESKPLANE_API_OIDC_JWKS_URL', /jwks_uri/],
    [{ ...oidc, DESKPLANE_API_OIDC_JWKS_URL: 'ftp://x/certs' }, 'DESKPLANE_API_OIDC_JWKS_URL', /must be an http\(s\) URL/],
    [{ ...builtin, DESKPLANE_API_OIDC_AUDIENCE: 'x' }, 'DESKPLANE_API_OIDC_ISSUER', /is required with DESKPLANE_API_OIDC_AUDIENCE/],
    [{ ...oidc, DESKPLANE_API_OIDC_ALGORITHMS: 'HS256' }, 'DESKPLANE_API_OIDC_ALGORITHMS', /asymmetric/],
    [{ ...builtin, DESKPLANE_API_LISTEN: '8080' }, 'DESKPLANE_API_LISTEN', /must be host:port/],
    [{ ...builtin, DESKPLANE_API_LISTEN: ':70000' }, 'DESKPLANE_API_LISTEN', /must be host:port/],
    [{ ...builtin, DESKPLANE_API_ACCESS_TOKEN_TTL_S: '5' }, 'DESKPLANE_API_ACCESS_TOKEN_TTL_S', /from 30 to 86400, got "5"/],
    [{ ...builtin, DESKPLANE_API_LOGIN_PER_IP_PER_MINUTE: 'lots' }, 'DESKPLANE_API_LOGIN_PER_IP_PER_MINUTE', /whole number/],
    [{ ...builtin, DESKPLANE_API_LOG_LEVEL: 'loud' }, 'DESKPLANE_API_LOG_LEVEL', /must be one of trace, debug/],
    [{ ...builtin, DESKPLANE_API_DOCS: 'maybe' }, 'DESKPLANE_API_DOCS', /must be true or false/],
    [{ DESKPLANE_API_KUBERNETES_AUTH: 'sometimes' }, 'DESKPLANE_API_KUBERNETES_AUTH', /must be true or false/],
    [{ DESKPLANE_API_KUBERNETES_AUTH: 'off' }, 'DESKPLANE_API_USERS_FILE', /KUBERNETES_AUTH=on/],
  ])('%j → error naming %s', (env, variable, message) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
    expect(err.message).toMatch(message);
  });
});
