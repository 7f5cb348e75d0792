/**
 * The env the chart renders, as the kubelet would hand it over (Secrets, downward API,
 * $(VAR) expansion), through each component's own config parser (its src/config.ts): the
 * components would start with it, and read what the chart means them to.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_SETS, NAMESPACE, RELEASE, render, renderedSecrets, resolveEnv, tools, workload, type K8sObject, type Tools } from './support/chart';

const ROOT = join(__dirname, '..', '..');
type Env = Record<string, string>;
type Parsed = Record<string, unknown>;

/** Each component's parser, loaded from its source (vitest transforms it) as main.ts calls it. */
const PARSERS: Record<string, { file: string; call: (m: Record<string, (...a: unknown[]) => Parsed>, env: Env) => Parsed }> = {
  operator: { file: 'operators/desktop-operator/src/config.ts', call: (m, env) => m.configFromEnv!(env) },
  orchestrator: { file: 'services/orchestrator/src/config.ts', call: (m, env) => m.configFromEnv!(env, 'pod-0') },
  api: { file: 'services/api/src/config.ts', call: (m, env) => m.parseConfig!(env) },
  gateway: { file: 'gateway/src/config.ts', call: (m, env) => m.parseConfig!(env) },
  'host-agent': { file: 'services/host-agent/src/config.ts', call: (m, env) => m.parseConfig!({}, env) },
};

/** Secrets a value set says the cluster admin brings. */
const EXTERNAL = {
  'deskplane-redis-url/redis-url': 'rediss://:from-existing-secret@redis.infra:6380/1',
};
const FIELDS = { 'metadata.name': 'pod-0', 'status.hostIP': '10.20.0.11', 'spec.nodeName': 'node-a' };
const gwAdmin = `${RELEASE}-deskplane-gateway-admin.${NAMESPACE}.svc:7444`;

let t: Tools;
const envs = new Map<string, Record<string, Env>>();
const modules = new Map<string, Record<string, (...a: unknown[]) => Parsed>>();

function envsOf(objects: K8sObject[]): Record<string, Env> {
  const secrets = renderedSecrets(objects);
  return Object.fromEntries(Object.keys(PARSERS).map((c) => [c, resolveEnv(workload(objects, c).pod.containers[0]!, secrets, EXTERNAL, FIELDS)]));
}

const parse = (component: string, env: Env): Parsed => PARSERS[component]!.call(modules.get(component)!, env);

beforeAll(async () => {
  t = tools();
  for (const [c, p] of Object.entries(PARSERS)) modules.set(c, (await import(join(ROOT, p.file))) as Record<string, (...a: unknown[]) => Parsed>);
  for (const set of ALL_SETS) envs.set(set, envsOf((await render(t, set)).objects));
  const auth = ['--set', 'api.auth.builtin.enabled=true', '--set', 'api.auth.builtin.usersSecret=deskplane-users', '--set', 'api.auth.oidc.issuer=https://idp.example/realms/d',
    '--set', 'api.auth.oidc.audience=deskplane', '--set', 'api.auth.oidc.jwksUrl=https://idp.example/realms/d/certs', '--set', 'api.auth.oidc.tenantClaim=tenant',
    '--set', 'api.auth.kubernetes.enabled=false', '--set', 'api.publicURL=https://desk.example.com', '--set', 'gateway.publicHost=gw.example.com'];
  envs.set('auth', envsOf((await render(t, 'default', auth)).objects));
  envs.set('no-console', envsOf((await render(t, 'default', ['--set', 'webConsole.enabled=false'])).objects));
});

describe.each(ALL_SETS)('rendered env of %s values, through the components\' parsers', (set) => {
  const env = (c: string): Env => envs.get(set)![c]!;
  const redisUrl = (): string => (set === 'tls-values.yaml' ? EXTERNAL['deskplane-redis-url/redis-url'] : renderedRedis(set));
  const mtls = set === 'tls-values.yaml';

  it('operator: in-cluster Kubernetes, Redis from the Secret, Lease in the release namespace, pod name as identity', () => {
    const c = parse('operator', env('operator'));
    expect(c).toMatchObject({ backend: { kind: 'kubernetes' }, redisUrl: redisUrl(), identity: 'pod-0', metrics: { host: '0.0.0.0', port: 9465 } });
    expect(c.lease).toMatchObject({ name: `${RELEASE}-deskplane-operator`, namespace: NAMESPACE });
    expect((c.backend as { kubeconfig?: string }).kubeconfig).toBeUndefined();
    expect(c.agentTls !== undefined).toBe(mtls);
  });

  it('orchestrator: same Redis and prefix, and the gateway admin when the gateway has a public host', () => {
    const c = parse('orchestrator', env('orchestrator'));
    expect(c).toMatchObject({ backend: { kind: 'kubernetes' }, redisUrl: redisUrl(), identity: 'pod-0', metrics: { port: 9466 } });
    expect(c.queuePrefix).toBe(parse('operator', env('operator')).queuePrefix);
    const gw = c.gateway as { adminAddress: string; graphicsUri: string } | undefined;
    if (set === 'default' || set === 'servicemonitor-values.yaml') expect(gw).toBeUndefined();
    else expect(gw?.adminAddress).toBe(gwAdmin);
  });

  it('api: Kubernetes auth, web console, gateway admin, Redis and the gateway\'s audit prefix', () => {
    const c = parse('api', env('api')) as { auth: Parsed; uiDir: string; platform: Parsed & { gateway: Parsed } };
    expect(c.auth.kubernetes).toEqual({ tenantGroupPrefix: 'deskplane:tenant:' });
    expect(c.uiDir).toBe('/app/web-console/dist');
    expect(c.platform).toMatchObject({ redisUrl: redisUrl(), sharedTemplatesNamespace: NAMESPACE });
    // The API reads the gateway's session audit stream under the gateway's own key prefix.
    expect(c.platform.auditPrefix).toBe((parse('gateway', env('gateway')).tickets as { prefix: string }).prefix);
    expect(c.platform.gateway.adminAddress).toBe(gwAdmin);
    expect(c.platform.gateway.adminTls !== undefined).toBe(mtls);
  });

  it('gateway: admin API on the pod network (mutual TLS or explicitly insecure), Redis tickets with a 32-byte key, policies from the cluster', () => {
    const c = parse('gateway', env('gateway')) as Parsed & { admin: { listen: unknown; tls?: unknown }; tickets: { kind: string; url: string; key: Buffer } };
    expect(c.admin.listen).toEqual({ host: '0.0.0.0', port: 7444 });
    expect(c.admin.tls !== undefined).toBe(mtls);
    expect(c.tickets).toMatchObject({ kind: 'redis', url: redisUrl() });
    expect(c.tickets.key).toHaveLength(32);
    expect(c.policy).toEqual({ kind: 'kube' });
    expect(c.websocket).toMatchObject({ listen: { port: 5959 }, path: '/spice' });
  });

  it('host agent: the node address for listening and consoles, the migration URI expanded', () => {
    const c = parse('host-agent', env('host-agent'));
    expect(c).toMatchObject({ hostName: 'node-a', listen: { host: '10.20.0.11', port: 7443 }, consoleAddress: '10.20.0.11', libvirtUri: 'qemu:///system' });
    expect(c.migrationUri).toBe(set === 'selected-nodes-values.yaml' ? 'qemu+tcp://10.20.0.11/system' : 'qemu+tls://10.20.0.11/system');
    expect(c.tls !== undefined).toBe(mtls);
  });
});

function renderedRedis(set: string): string {
  return set === 'external-redis-password-values.yaml' ? 'rediss://deskplane:s3cr3t%20p%40ss%2Fw0rd%2B%25@redis.data.svc.cluster.local:6380/2' : 'redis://redis:6379';
}

describe('sets that configure more', () => {
  it('tls: the gateway fronts and the .vv settings line up (CONNECT target = SPICE address, TLS port = SPICE port)', () => {
    const gw = parse('gateway', envs.get('tls-values.yaml')!.gateway!) as Parsed & { httpConnect: { allowedTargets: string[]; tls?: unknown }; tls?: unknown };
    expect(gw.httpConnect.allowedTargets).toEqual(['spice.desk.example.com:5900']);
    expect(gw.tls).toEqual({ certFile: '/etc/deskplane/gateway-tls/tls.crt', keyFile: '/etc/deskplane/gateway-tls/tls.key' });
    const api = parse('api', envs.get('tls-values.yaml')!.api!) as { platform: { gateway: Parsed; browserConsoleUrl: string } };
    expect(api.platform.gateway).toMatchObject({ host: 'spice.desk.example.com', port: 5900, tlsPort: 5900, proxy: 'https://spice.desk.example.com:3128', caFile: '/etc/deskplane/gateway-ca/ca.crt' });
    expect(api.platform.browserConsoleUrl).toBe('https://desk.example.com/ui/console/{name}');
  });

  it('built-in IdP and OIDC: users file from the mounted Secret, a writable data dir, the OIDC claims', () => {
    const api = parse('api', envs.get('auth')!.api!) as { auth: { builtin: Parsed; oidc: Parsed; kubernetes?: unknown } };
    expect(api.auth.builtin).toMatchObject({ usersFile: '/etc/deskplane/users/users.json', dataDir: '/var/lib/deskplane/api' });
    expect(api.auth.oidc).toMatchObject({ issuer: 'https://idp.example/realms/d', audience: 'deskplane', jwksUrl: 'https://idp.example/realms/d/certs', claims: { tenant: 'tenant' } });
    expect(api.auth.kubernetes).toBeUndefined();
  });

  it('webConsole.enabled=false overrides the image\'s DESKPLANE_API_UI_DIR with "": no UI', () => {
    const env = envs.get('no-console')!.api!;
    expect(env.DESKPLANE_API_UI_DIR).toBe('');
    expect((parse('api', { DESKPLANE_API_UI_DIR: '/app/web-console/dist', ...env }) as { uiDir?: string }).uiDir).toBeUndefined();
  });

  it('the gateway refuses the rendered env without the chart\'s ADMIN_INSECURE (why the chart sets it)', () => {
    const env = { ...envs.get('default')!.gateway! };
    delete env.DESKPLANE_GATEWAY_ADMIN_INSECURE;
    expect(() => parse('gateway', env)).toThrow(/DESKPLANE_GATEWAY_ADMIN_LISTEN.*not a loopback address/);
  });

  it('the host agent refuses to start without the downward-API address', () => {
    const env = { ...envs.get('default')!['host-agent']! };
    delete env.DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS;
    expect(() => parse('host-agent', env)).toThrow(/DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS/);
  });
});
