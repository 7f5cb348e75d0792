import { describe, expect, it } from 'vitest';
import { callerFromKubeUser, KubernetesAuthenticator, type ReviewedUser, type TokenReviewer } from './kubernetes-tokens';
import { TokenVerifier } from './verifier';

const opts = { tenantGroupPrefix: 'deskplane:tenant:', roleGroups: { tenantAdmin: 'vdi-admins', platformOps: 'vdi-ops' } };
const alice: ReviewedUser = { username: 'alice', uid: 'u-1', groups: ['system:authenticated', 'deskplane:tenant:acme'] };

/** A stand-in for the cluster's TokenReview that counts calls (the real one is in test/kubernetes-auth.e2e.test.ts). */
function reviewer(users: Record<string, ReviewedUser | Error>): TokenReviewer & { calls: number } {
  return {
    calls: 0,
    review(token) {
      this.calls++;
      const u = users[token];
      return u instanceof Error ? Promise.reject(u) : Promise.resolve(u ?? null);
    },
  };
}

describe('callerFromKubeUser', () => {
  it('takes the tenant from the one prefixed group and roles from group names', () => {
    expect(callerFromKubeUser(alice, opts)).toEqual({ subject: 'u-1', user: 'alice', tenant: 'acme', groups: alice.groups, roles: new Set(['user']) });
    const admin = callerFromKubeUser({ username: 'bob', groups: ['deskplane:tenant:acme', 'vdi-admins'] }, opts);
    expect([...admin.roles]).toEqual(['user', 'tenant-admin']);
    expect(admin.subject).toBe('bob');
  });

  it('lets platform ops have no tenant and refuses everyone else without one', () => {
    expect(callerFromKubeUser({ username: 'ops', groups: ['vdi-ops'] }, opts)).toMatchObject({ tenant: '', roles: new Set(['user', 'platform-ops']) });
    expect(() => callerFromKubeUser({ username: 'eve', groups: ['system:authenticated'] }, opts)).toThrow(/belongs to no tenant: add them to a group named deskplane:tenant:<namespace>/);
  });

  it('refuses two tenants and a tenant that is not a namespace name', () => {
    expect(() => callerFromKubeUser({ username: 'x', groups: ['deskplane:tenant:a', 'deskplane:tenant:b'] }, opts)).toThrow(/several tenant groups \(a, b\)/);
    expect(() => callerFromKubeUser({ username: 'x', groups: ['deskplane:tenant:Not_A_Namespace'] }, opts)).toThrow(/does not name a namespace/);
    // The same tenant group twice is still one tenant.
    expect(callerFromKubeUser({ username: 'x', groups: ['deskplane:tenant:a', 'deskplane:tenant:a'] }, opts).tenant).toBe('a');
  });

  it('maps service-account tokens to their namespace with the service-account group prefix', () => {
    const sa = { username: 'system:serviceaccount:team-a:ci', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'] };
    expect(callerFromKubeUser(sa, { ...opts, tenantGroupPrefix: 'system:serviceaccounts:' }).tenant).toBe('team-a');
  });
});

describe('KubernetesAuthenticator', () => {
  it('caches answers and refusals for the TTL, then asks again', async () => {
    let now = 0;
    const r = reviewer({ good: alice });
    const auth = new KubernetesAuthenticator(r, { ...opts, cacheTtlMs: 1000, now: () => now });
    expect((await auth.authenticate('good')).tenant).toBe('acme');
    await auth.authenticate('good');
    await expect(auth.authenticate('bad')).rejects.toMatchObject({ status: 401 });
    await expect(auth.authenticate('bad')).rejects.toMatchObject({ status: 401 });
    expect(r.calls).toBe(2);
    now = 1001;
    await auth.authenticate('good');
    expect(r.calls).toBe(3);
  });

  it('answers 503 when the cluster cannot review, without caching it', async () => {
    const r = reviewer({ flaky: new Error('connect ECONNREFUSED') });
    const auth = new KubernetesAuthenticator(r, opts);
    const err = (await auth.authenticate('flaky').catch((e: unknown) => e)) as { status: number; message: string };
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/ECONNREFUSED/);
    await expect(auth.authenticate('flaky')).rejects.toMatchObject({ status: 503 });
    expect(r.calls).toBe(2);
  });

  it('keeps at most cacheSize answers', async () => {
    const r = reviewer({ a: alice, b: alice, c: alice });
    const auth = new KubernetesAuthenticator(r, { ...opts, cacheSize: 2 });
    for (const t of ['a', 'b', 'c', 'a']) await auth.authenticate(t);
    expect(r.calls).toBe(4); // a was evicted by c
  });

  it('is asked by the TokenVerifier only for tokens no trusted issuer signed', async () => {
    const r = reviewer({ 'static-token': alice });
    const verifier = new TokenVerifier([], { fallback: new KubernetesAuthenticator(r, opts) });
    expect((await verifier.verify('static-token')).user).toBe('alice');
    await expect(new TokenVerifier([]).verify('static-token')).rejects.toMatchObject({ status: 401, message: 'bearer token is not a JWT' });
  });
});
