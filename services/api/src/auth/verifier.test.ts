import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../domain/errors';
import { oidcIssuer, TokenVerifier, type TrustedIssuer } from './verifier';

const ISSUER = 'https://idp.example.test/realms/deskplane';
let key: CryptoKey;
let otherKey: CryptoKey;
let jwksServer: Server;
let jwksUrl: string;
let jwksFetches = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  ({ privateKey: otherKey } = await generateKeyPair('RS256'));
  const pub = await exportJWK((await generateKeyPair('RS256')).publicKey); // decoy, another kid
  const publicKey = await exportJWK(pair.publicKey);
  const jwks = { keys: [{ ...pub, kid: 'decoy', alg: 'RS256' }, { ...publicKey, kid: 'k1', alg: 'RS256' }] };
  // The OIDC path fetches keys over real HTTP, as from a provider's jwks_uri.
  jwksServer = createServer((req, res) => {
    jwksFetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/certs`;
});
afterAll(() => new Promise<void>((r) => jwksServer.close(() => r())));

function sign(claims: JWTPayload, opts: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number; alg?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ preferred_username: 'alice', deskplane_tenant: 'team-a', groups: ['staff'], ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? 'deskplane-api')
    .setSubject('u-123')
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 300)
    .sign(opts.key ?? key);
}

const verifier = () => new TokenVerifier([oidcIssuer({ issuer: ISSUER, audience: 'deskplane-api', jwksUrl })], { roleGroups: { tenantAdmin: 'vdi-admins', platformOps: 'vdi-ops' }, clockToleranceSeconds: 0 });

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('TokenVerifier with an OIDC issuer (keys from its JWKS URL)', () => {
  it('accepts a good token and maps claims to a Caller', async () => {
    const caller = await verifier().verify(await sign({}));
    expect(caller).toEqual({ subject: 'u-123', user: 'alice', tenant: 'team-a', groups: ['staff'], roles: new Set(['user']) });
    expect(jwksFetches).toBeGreaterThan(0);
  });

  it('maps the configured groups to roles', async () => {
    const admin = await verifier().verify(await sign({ groups: ['staff', 'vdi-admins'] }));
    expect([...admin.roles].sort()).toEqual(['tenant-admin', 'user']);
    const ops = await verifier().verify(await sign({ groups: ['vdi-ops'], deskplane_tenant: undefined }));
    expect(ops.roles.has('platform-ops')).toBe(true);
    expect(ops.tenant).toBe('');
  });

  it('ignores role claims from an OIDC issuer (only groups grant roles there)', async () => {
    const c = await verifier().verify(await sign({ deskplane_roles: ['platform-ops'] }));
    expect([...c.roles]).toEqual(['user']);
  });

  it('reads claims by configured name, including nested and URL-style names', async () => {
    const v = new TokenVerifier([oidcIssuer({ issuer: ISSUER, audience: 'deskplane-api', jwksUrl, claims: { user: 'email', tenant: 'https://deskplane.io/tenant', groups: 'realm_access.roles' } })], { roleGroups: { tenantAdmin: 'admin' } });
    const c = await v.verify(await sign({ email: 'a@x.test', 'https://deskplane.io/tenant': 'team-b', realm_access: { roles: ['admin'] } }));
    expect(c).toMatchObject({ user: 'a@x.test', tenant: 'team-b', groups: ['admin'] });
    expect(c.roles.has('tenant-admin')).toBe(true);
  });

  it.each([
    ['expired', () => sign({}, { exp: Math.floor(Date.now() / 1000) - 10 }), 401, /expired/],
    ['wrong audience', () => sign({}, { aud: 'someone-else' }), 401, /audience/],
    ['untrusted issuer', () => sign({}, { iss: 'https://evil.test' }), 401, /issuer "https:\/\/evil.test" is not trusted/],
    ['bad signature (other key, same kid)', () => sign({}, { key: otherKey }), 401, /signature is invalid/],
    ['unknown kid', () => sign({}, { kid: 'nope' }), 401, /key the issuer does not publish/],
    ['not a JWT', () => Promise.resolve('not.a.jwt'), 401, /not a JWT/],
    ['no user claim', () => sign({ preferred_username: undefined }), 401, /no preferred_username claim/],
    ['no tenant for a plain user', () => sign({ deskplane_tenant: undefined }), 403, /no deskplane_tenant claim/],
    ['tenant not a namespace name', () => sign({ deskplane_tenant: '../etc' }), 403, /not a namespace name/],
  ])('refuses %s', async (_name, make, status, message) => {
    const err = await rejection(verifier().verify(await make()));
    expect(err.status).toBe(status);
    expect(err.message).toMatch(message);
  });

  it('refuses an unsigned (alg none) token', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'deskplane-api', sub: 'x', preferred_username: 'alice', deskplane_tenant: 'team-a', exp: 9e9 })).toString('base64url');
    expect((await rejection(verifier().verify(`${header}.${body}.`))).status).toBe(401);
  });

  it('refuses a symmetric (HS256) token even when its secret is the public key material', async () => {
    const secret = new TextEncoder().encode('k1-shared-secret-that-is-long-enough-32b');
    const token = await new SignJWT({ preferred_username: 'alice', deskplane_tenant: 'team-a' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(ISSUER).setAudience('deskplane-api').setSubject('x').setExpirationTime('5m').sign(secret);
    expect((await rejection(verifier().verify(token))).status).toBe(401);
  });

  it('answers 503 when the JWKS cannot be fetched (the token may be fine)', async () => {
    const v = new TokenVerifier([oidcIssuer({ issuer: ISSUER, audience: 'deskplane-api', jwksUrl: 'http://127.0.0.1:1/certs' })]);
    const err = await rejection(v.verify(await sign({})));
    expect(err.status).toBe(503);
  });
});

describe('TokenVerifier with a local key set (the built-in provider)', () => {
  it('takes roles from its roles claim and honours an injected clock', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES256' };
    const issuer: TrustedIssuer = { issuer: 'builtin', audience: 'api', keys: createLocalJWKSet({ keys: [jwk] }), claims: { user: 'preferred_username', tenant: 'deskplane_tenant', groups: 'groups', roles: 'deskplane_roles' }, algorithms: ['ES256'] };
    const token = await new SignJWT({ preferred_username: 'ops', deskplane_roles: ['platform-ops', 'superuser'] }).setProtectedHeader({ alg: 'ES256', kid: 'b1' }).setIssuer('builtin').setAudience('api').setSubject('ops').setExpirationTime(Math.floor(Date.now() / 1000) + 60).sign(privateKey);
    const c = await new TokenVerifier([issuer]).verify(token);
    expect([...c.roles].sort()).toEqual(['platform-ops', 'user']);
    const later = new TokenVerifier([issuer], { now: () => Date.now() + 120_000, clockToleranceSeconds: 0 });
    expect((await rejection(later.verify(token))).message).toMatch(/expired/);
  });
});
