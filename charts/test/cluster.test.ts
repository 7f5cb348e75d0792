/**
 * The rendered chart against the testbed's real kube-apiserver: every object (CRDs
 * included) passes `kubectl apply --dry-run=server` for the defaults and each ci/ set, and
 * the RBAC objects, applied for real into a throwaway namespace, grant each component what
 * its code does and nothing next to it (`kubectl auth can-i --as=<service account>`).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SETS, CHART, kubectl, render, tools, type K8sObject, type Tools } from './support/chart';

const suffix = randomBytes(3).toString('hex');
const ns = `chart-test-${suffix}`;
const release = `dp${suffix}`;
const where = { release, namespace: ns };
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
// The testbed runs no prometheus-operator, so it has no ServiceMonitor kind to dry-run against.
const NOT_ON_TESTBED = new Set(['ServiceMonitor']);
let t: Tools;
let rbacManifest: string | undefined;

/** A v1 List as JSON: re-serialised YAML could turn strings like "on" into YAML 1.1 booleans for kubectl. */
const manifestOf = (objs: readonly K8sObject[]): string => JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs });

/** No controller-manager runs on the testbed: a deleted namespace would stay Terminating, so finalize it ourselves once it is empty. */
async function deleteNamespace(name: string): Promise<void> {
  await kubectl(t, ['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
  const got = await kubectl(t, ['get', 'namespace', name, '-o', 'json']);
  if (got.code !== 0) return;
  const body = JSON.parse(got.stdout) as { spec?: { finalizers?: string[] } };
  body.spec = { ...body.spec, finalizers: [] };
  await kubectl(t, ['replace', '--raw', `/api/v1/namespaces/${name}/finalize`, '-f', '-'], JSON.stringify(body));
}

async function removeRbac(): Promise<void> {
  if (rbacManifest === undefined) return;
  const r = await kubectl(t, ['delete', '--ignore-not-found', '--wait=false', '-f', '-'], rbacManifest);
  if (r.code !== 0) throw new Error(`could not delete the RBAC objects: ${r.stderr}`);
  rbacManifest = undefined;
}

beforeAll(async () => {
  t = tools();
  const created = await kubectl(t, ['create', 'namespace', ns]);
  if (created.code !== 0) throw new Error(created.stderr);
  // KvmHosts can only be dry-run once their CRD is really there. The CRDs are the project's
  // own (the same bytes every suite installs), so missing ones are created and left in place.
  const crdDir = join(CHART, 'crds');
  for (const f of readdirSync(crdDir).filter((x) => x.endsWith('.yaml'))) {
    const r = await kubectl(t, ['create', '-f', join(crdDir, f)]);
    if (r.code !== 0 && !/AlreadyExists/.test(r.stderr)) throw new Error(`${f}: ${r.stderr}`);
  }
  const est = await kubectl(t, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=deskplane']);
  if (est.code !== 0) throw new Error(est.stderr);
});

afterAll(async () => {
  if (!t) return;
  await removeRbac().catch(() => undefined);
  await deleteNamespace(ns);
});

describe('kubectl apply --dry-run=server', () => {
  it.each(ALL_SETS)('accepts every object rendered with %s values (--include-crds)', async (set) => {
    const { objects } = await render(t, set, ['--include-crds'], where);
    const sent = objects.filter((o) => !NOT_ON_TESTBED.has(o.kind));
    expect(objects.length - sent.length).toBe(set === 'servicemonitor-values.yaml' ? 5 : 0);
    expect(sent.filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(7);
    const r = await kubectl(t, ['apply', '--dry-run=server', '-f', '-'], manifestOf(sent));
    expect(r.stderr.replace(/^Warning:.*\n/gm, ''), set).toBe('');
    expect(r.code).toBe(0);
    const accepted = r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
    expect(accepted).toHaveLength(sent.length);
  });

  it('refuses an object the apiserver finds invalid (the dry-run really validates)', async () => {
    const { objects } = await render(t, 'default', [], where);
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === `${release}-deskplane-gateway`) as unknown as { spec: { ports: Array<{ port: number }> } };
    svc.spec.ports[0]!.port = 70000;
    const r = await kubectl(t, ['apply', '--dry-run=server', '-f', '-'], manifestOf(objects));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.ports\[0\]\.port.*70000/);
  });
});

describe('RBAC applied for real, checked with kubectl auth can-i', () => {
  const sa = (component: string): string => `system:serviceaccount:${ns}:${release}-deskplane-${component}`;
  const tenant = 'tenant-a';
  /** [who, verb, resource, flags, expected] */
  type Check = [string, string, string, string[], boolean];
  const lease = `leases.coordination.k8s.io/${release}-deskplane-operator`;
  const checks: Check[] = [
    ['operator', 'watch', 'virtualdesktops.deskplane.io', ['-n', tenant], true],
    ['operator', 'update', 'virtualdesktops.deskplane.io', ['-n', tenant, '--subresource=status'], true],
    ['operator', 'create', 'desktopmigrations.deskplane.io', ['-n', tenant], true],
    ['operator', 'update', 'kvmhosts.deskplane.io', ['--subresource=status'], true],
    ['operator', 'create', 'events.events.k8s.io', ['-n', tenant], true],
    ['operator', 'update', lease, ['-n', ns], true],
    ['operator', 'update', 'leases.coordination.k8s.io/someone-else', ['-n', ns], false],
    ['operator', 'update', lease, ['-n', tenant], false],
    ['operator', 'update', 'kvmhosts.deskplane.io', [], false],
    ['operator', 'delete', 'virtualdesktops.deskplane.io', ['-n', tenant], true],
    ['operator', 'create', 'virtualdesktops.deskplane.io', ['-n', tenant], true],
    ['operator', 'watch', 'desktoppools.deskplane.io', ['-n', tenant], true],
    ['operator', 'update', 'desktoppools.deskplane.io', ['-n', tenant], true],
    ['operator', 'update', 'desktoppools.deskplane.io', ['-n', tenant, '--subresource=status'], true],
    ['operator', 'create', 'desktoppools.deskplane.io', ['-n', tenant], false],
    ['operator', 'delete', 'desktoppools.deskplane.io', ['-n', tenant], false],
    ['operator', 'get', 'tenants.deskplane.io', [], true],
    ['operator', 'update', 'tenants.deskplane.io', [], false],
    ['operator', 'get', 'secrets', ['-n', tenant], false],
    ['orchestrator', 'create', 'secrets', ['-n', tenant], true],
    ['orchestrator', 'delete', 'secrets', ['-n', tenant], true],
    ['orchestrator', 'list', 'secrets', ['-n', tenant], false],
    ['orchestrator', 'update', 'desktopmigrations.deskplane.io', ['-n', tenant, '--subresource=status'], true],
    ['orchestrator', 'create', 'virtualdesktops.deskplane.io', ['-n', tenant], false],
    ['orchestrator', 'update', 'kvmhosts.deskplane.io', ['--subresource=status'], false],
    ['api', 'create', 'tokenreviews.authentication.k8s.io', [], true],
    ['api', 'get', 'secrets', ['-n', tenant], true],
    ['api', 'list', 'secrets', ['-n', tenant], false],
    ['api', 'update', 'kvmhosts.deskplane.io', [], true],
    ['api', 'delete', 'kvmhosts.deskplane.io', [], false],
    ['api', 'create', 'tenants.deskplane.io', [], true],
    ['api', 'update', 'virtualdesktops.deskplane.io', ['-n', tenant, '--subresource=status'], false],
    ['api', 'update', 'virtualdesktops.deskplane.io', ['-n', tenant], true],
    ['api', 'list', 'desktoppools.deskplane.io', ['-n', tenant], true],
    ['api', 'watch', 'desktoppools.deskplane.io', ['-n', tenant], true],
    ['api', 'update', 'desktoppools.deskplane.io', ['-n', tenant], false],
    ['api', 'update', 'desktoppools.deskplane.io', ['-n', tenant, '--subresource=status'], false],
    ['gateway', 'watch', 'desktoppolicies.deskplane.io', ['-n', tenant], true],
    ['gateway', 'update', 'desktoppolicies.deskplane.io', ['-n', tenant, '--subresource=status'], true],
    ['gateway', 'update', 'desktoppolicies.deskplane.io', ['-n', tenant], false],
    ['gateway', 'get', 'secrets', ['-n', tenant], false],
    ['host-agent', 'get', 'virtualdesktops.deskplane.io', ['-n', tenant], false],
    ['host-agent', 'list', 'pods', ['-n', ns], false],
    ['signed-in user', 'get', 'configmaps/deskplane-client', ['-n', 'kube-public'], true],
    ['signed-in user', 'get', 'configmaps/other', ['-n', 'kube-public'], false],
    ['signed-in user', 'list', 'configmaps', ['-n', 'kube-public'], false],
  ];

  beforeAll(async () => {
    // The TLS set has api.publicURL, so the kube-public discovery Role comes along.
    const { objects } = await render(t, 'tls-values.yaml', [], where);
    rbacManifest = manifestOf(objects.filter((o) => RBAC_KINDS.has(o.kind)));
    const r = await kubectl(t, ['apply', '-f', '-'], rbacManifest);
    if (r.code !== 0) throw new Error(r.stderr);
  });

  it.each(checks)('%s: %s %s %j → %s', async (who, verb, resource, flags, expected) => {
    const as = who === 'signed-in user' ? ['--as=jane', '--as-group=system:authenticated'] : [`--as=${sa(who)}`];
    const r = await kubectl(t, ['auth', 'can-i', verb, resource, ...flags, ...as]);
    expect(r.stdout.trim(), r.stderr).toBe(expected ? 'yes' : 'no');
  });

  it('leaves no cluster-scoped or kube-public object behind', async () => {
    await removeRbac();
    const left = await kubectl(t, ['get', 'clusterroles,clusterrolebindings', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']);
    expect(left.stdout.trim()).toBe('');
    const pub = await kubectl(t, ['get', 'roles,rolebindings', '-n', 'kube-public', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']);
    expect(pub.stdout.trim()).toBe('');
  });
});
