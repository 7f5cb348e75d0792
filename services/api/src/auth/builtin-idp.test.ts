import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../domain/errors';
import { BuiltinIdp, REFRESH_TOKENS_FILE, type BuiltinIdpOptions } from './builtin-idp';
import { hashPassword } from './passwords';
import { SIGNING_KEY_FILE } from './signing-key';
import { testToken } from './test-token';
import { parseUsers, UsersFileError } from './users-file';
import { TokenVerifier } from './verifier';

let dir: string;
let opts: BuiltinIdpOptions;
let clock: number;
const hash = (pw: string) => hashPassword(pw, { N: 1024 });

function writeUsers(users: unknown[]): void {
  const file = join(dir, 'users.json');
  writeFileSync(file, JSON.stringify({ users }));
  // mtime granularity can hide a rewrite within the same millisecond; make the change visible.
  const t = new Date(Date.now() + Math.random() * 1e6);
  utimesSync(file, t, t);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-idp-'));
  clock = Date.now();
  writeUsers([
    { username: 'alice', passwordHash: await hash('alice-pw'), tenant: 'team-a', groups: ['staff'], roles: ['user', 'tenant-admin'] },
    { username: 'ops', passwordHash: await hash('ops-pw'), tenant: '', roles: ['platform-ops'] },
  ]);
  opts = { dataDir: join(dir, 'data'), usersFile: join(dir, 'users.json'), issuer: 'deskplane-test', audience: 'deskplane-api', accessTtlSeconds: 900, refreshTtlSeconds: 3600, now: () => clock };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('BuiltinIdp', () => {
  it('logs in with the right password; its token verifies as the user with roles and groups', async () => {
    const idp = await BuiltinIdp.open(opts);
    const pair = await idp.login('alice', 'alice-pw');
    expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: 3600 });
    const caller = await new TokenVerifier([idp.trustedIssuer()]).verify(pair.accessToken);
    expect(caller).toMatchObject({ subject: 'alice', user: 'alice', tenant: 'team-a', groups: ['staff'] });
    expect([...caller.roles].sort()).toEqual(['tenant-admin', 'user']);
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const idp = await BuiltinIdp.open(opts);
    const wrong = await refusal(idp.login('alice', 'nope'));
    const unknown = await refusal(idp.login('mallory', 'alice-pw'));
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.message).toBe(unknown.message);
  });

  it('rotates refresh tokens: the old one is refused after use', async () => {
    const idp = await BuiltinIdp.open(opts);
    const first = await idp.login('alice', 'alice-pw');
    const second = await idp.refresh(first.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await refusal(idp.refresh(first.refreshToken))).status).toBe(401);
  });

  it('revokes the whole sign-in when a used refresh token comes back (it was copied)', async () => {
    const idp = await BuiltinIdp.open(opts);
    const first = await idp.login('alice', 'alice-pw');
    const second = await idp.refresh(first.refreshToken);
    await refusal(idp.refresh(first.refreshToken)); // the thief, or the victim after the thief
    expect((await refusal(idp.refresh(second.refreshToken))).status).toBe(401);
    // Another sign-in of the same user is not affected.
    const other = await idp.login('alice', 'alice-pw');
    await expect(idp.refresh(other.refreshToken)).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  it('expires refresh tokens', async () => {
    const idp = await BuiltinIdp.open(opts);
    const pair = await idp.login('alice', 'alice-pw');
    clock += 3601_000;
    expect((await refusal(idp.refresh(pair.refreshToken))).message).toMatch(/expired/);
  });

  it('logout ends the sign-in, only for its own user', async () => {
    const idp = await BuiltinIdp.open(opts);
    const pair = await idp.login('alice', 'alice-pw');
    expect(idp.logout(pair.refreshToken, 'ops')).toBe(false);
    await expect(idp.refresh(pair.refreshToken)).resolves.toBeDefined(); // still alice's
    const next = await idp.refresh((await idp.login('alice', 'alice-pw')).refreshToken);
    expect(idp.logout(next.refreshToken, 'alice')).toBe(true);
    expect((await refusal(idp.refresh(next.refreshToken))).status).toBe(401);
  });

  it('keeps its key and refresh tokens across a restart, hashed and private', async () => {
    const idp = await BuiltinIdp.open(opts);
    const pair = await idp.login('alice', 'alice-pw');
    const again = await BuiltinIdp.open(opts);
    expect(again.jwks()).toEqual(idp.jwks());
    await expect(new TokenVerifier([again.trustedIssuer()]).verify(pair.accessToken)).resolves.toMatchObject({ user: 'alice' });
    await expect(again.refresh(pair.refreshToken)).resolves.toBeDefined();
    const stored = readFileSync(join(opts.dataDir, REFRESH_TOKENS_FILE), 'utf8');
    expect(stored).not.toContain(pair.refreshToken);
    expect(statSync(join(opts.dataDir, SIGNING_KEY_FILE)).mode & 0o077).toBe(0);
    expect(JSON.stringify(idp.jwks())).not.toContain('"d"');
  });

  it('stops the start on a damaged key file, naming it', async () => {
    await BuiltinIdp.open(opts);
    writeFileSync(join(opts.dataDir, SIGNING_KEY_FILE), '{"kty":"oct","k":"abc"}');
    await expect(BuiltinIdp.open(opts)).rejects.toThrow(/idp-signing-key.json: is not an ES256/);
  });

  it('reads the users file again when it changes: a removed user can no longer refresh', async () => {
    const idp = await BuiltinIdp.open(opts);
    const pair = await idp.login('alice', 'alice-pw');
    writeUsers([{ username: 'ops', passwordHash: await hash('ops-pw'), tenant: '', roles: ['platform-ops'] }]);
    expect((await refusal(idp.refresh(pair.refreshToken))).message).toMatch(/no longer exists/);
    expect((await refusal(idp.login('alice', 'alice-pw'))).status).toBe(401);
  });

  it('signs test tokens for any caller that the verifier accepts', async () => {
    const idp = await BuiltinIdp.open(opts);
    const token = await testToken(idp, { user: 'bob', tenant: 'team-b', roles: ['tenant-admin'], groups: ['g'] });
    const caller = await new TokenVerifier([idp.trustedIssuer()]).verify(token);
    expect(caller).toMatchObject({ subject: 'bob', user: 'bob', tenant: 'team-b', groups: ['g'] });
    expect(caller.roles.has('tenant-admin')).toBe(true);
  });
});

describe('users file', () => {
  const good = async () => ({ username: 'a', passwordHash: await hash('x'), tenant: 'team-a' });
  it.each([
    ['not JSON', () => Promise.resolve('{'), /is not JSON/],
    ['a bad tenant', async () => JSON.stringify({ users: [{ ...(await good()), tenant: 'Team A' }] }), /\/users\/0\/tenant/],
    ['an unknown role', async () => JSON.stringify({ users: [{ ...(await good()), roles: ['root'] }] }), /\/users\/0\/roles\/0/],
    ['a plain-text password', async () => JSON.stringify({ users: [{ ...(await good()), passwordHash: 'hunter2' }] }), /user "a": passwordHash is not a scrypt hash/],
    ['a duplicate user', async () => JSON.stringify({ users: [await good(), await good()] }), /user "a" appears twice/],
    ['no tenant for a non-ops user', async () => JSON.stringify({ users: [{ ...(await good()), tenant: '' }] }), /tenant may be empty only for platform-ops/],
  ])('refuses %s', async (_name, text, message) => {
    expect(() => parseUsers('users.json', '')).toThrow(UsersFileError);
    const t = await text();
    expect(() => parseUsers('users.json', t)).toThrow(message);
  });

  it('defaults roles to user and groups to none', async () => {
    const users = parseUsers('users.json', JSON.stringify({ users: [await good()] }));
    expect(users.get('a')).toMatchObject({ roles: ['user'], groups: [] });
  });
});
