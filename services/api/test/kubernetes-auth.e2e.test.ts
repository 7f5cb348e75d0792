/**
 * Kubernetes credentials at the API, against the testbed's real kube-apiserver: a
 * service-account token (what `kubectl create token` hands out, and what a kubeconfig
 * carries) is reviewed by the cluster, mapped to its tenant, and sees that tenant's desktops
 * only; a token the cluster does not know is 401; a user in no tenant group is 403; a built-in
 * IdP token still works beside it.
 */
import { loadState } from '@deskplane/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDesktop } from './support/seed';
import { call, kubectl, openBackend, startPlatform, type Backend, type Platform } from './support/harness';

describe('Kubernetes credentials (TokenReview)', () => {
  let backend: Backend;
  let platform: Platform;
  let strict: Platform;
  let tokenA = '';
  // The cluster that reviews tokens: the testbed's (in a pod: in-cluster).
  const kube = (): Record<string, string> => ({ DESKPLANE_API_KUBERNETES_AUTH: 'on', DESKPLANE_API_KUBECONFIG: loadState().kube!.kubeconfig });

  beforeAll(async () => {
    backend = await openBackend('kube', 'kauth');
    await kubectl(['create', 'serviceaccount', 'alice', '-n', backend.ns.a]);
    tokenA = (await kubectl(['create', 'token', 'alice', '-n', backend.ns.a, '--duration=1h'])).trim();
    await addDesktop(backend.store, backend.ns.a, 'mine', `system:serviceaccount:${backend.ns.a}:alice`, 'tpl');
    await addDesktop(backend.store, backend.ns.a, 'someone-elses', 'bob', 'tpl');
    await addDesktop(backend.store, backend.ns.b, 'other-tenant', `system:serviceaccount:${backend.ns.a}:alice`, 'tpl');
    // Service-account groups name their namespace: system:serviceaccounts:<namespace>.
    platform = await startPlatform(backend, { ...kube(), DESKPLANE_API_KUBERNETES_TENANT_GROUP_PREFIX: 'system:serviceaccounts:' });
    // The default prefix (deskplane:tenant:): a service account is in no tenant.
    strict = await startPlatform(backend, kube());
  }, 120_000);

  afterAll(async () => {
    await platform?.close();
    await strict?.close();
    await backend?.close();
  });

  it('maps a service-account token to its namespace and user, and lists only its own desktops', async () => {
    const r = await call(platform.api, 'GET', '/desktops', { token: tokenA });
    expect(r.status, r.text).toBe(200);
    expect(r.body.items.map((d) => d.name)).toEqual(['mine']);
    const other = await call(platform.api, 'GET', `/desktops/other-tenant?tenant=${backend.ns.b}`, { token: tokenA });
    expect([403, 404]).toContain(other.status);
  });

  it('answers 401 for a token the cluster does not know, and 403 for a user in no tenant', async () => {
    const bad = await call(platform.api, 'GET', '/desktops', { token: 'not-a-real-token-0123456789' });
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toMatch(/neither a trusted issuer nor the cluster accepts it/);
    const none = await call(strict.api, 'GET', '/desktops', { token: tokenA });
    expect(none.status).toBe(403);
    expect(none.body.error.message).toMatch(/belongs to no tenant: add them to a group named deskplane:tenant:<namespace>/);
  });
});
