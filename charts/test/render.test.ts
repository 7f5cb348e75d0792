/**
 * The chart through the real helm: `helm lint --strict` and `helm template` of the defaults
 * and of every ci/ value set, with what each set must produce, and the values it must refuse.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_SETS, CHART, NAMESPACE, RELEASE, byKind, envOf, find, renderedSecrets, render, run, tools, valuesArgs, workload, workloads, type Container, type K8sObject, type Tools } from './support/chart';

let t: Tools;
const rendered = new Map<string, K8sObject[]>();
const texts = new Map<string, string>();

beforeAll(async () => {
  t = tools();
  for (const set of ALL_SETS) {
    const r = await render(t, set);
    rendered.set(set, r.objects);
    texts.set(set, r.text);
  }
});

const objs = (set: string): K8sObject[] => rendered.get(set)!;
const name = (component: string): string => `${RELEASE}-deskplane-${component}`;
const COMPONENTS = ['operator', 'orchestrator', 'api', 'gateway', 'host-agent'];
const container = (set: string, component: string): Container => workload(objs(set), component).pod.containers[0]!;

describe('helm lint --strict', () => {
  it.each(ALL_SETS)('passes with %s values', async (set) => {
    const r = await run(t.helm, ['lint', '--strict', CHART, ...valuesArgs(set)]);
    expect(r.stdout + r.stderr, set).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe.each(ALL_SETS)('helm template with %s values', (set) => {
  it('renders five workloads, each with its own ServiceAccount that exists', () => {
    const ws = workloads(objs(set));
    expect(ws.map((w) => w.component).sort()).toEqual([...COMPONENTS].sort());
    const sas = ws.map((w) => w.pod.serviceAccountName);
    expect(new Set(sas).size).toBe(5);
    for (const w of ws) expect(find(objs(set), 'ServiceAccount', w.pod.serviceAccountName!).metadata.namespace).toBe(NAMESPACE);
  });

  it('has no wildcard in any Role or ClusterRole rule', () => {
    const roles = [...byKind(objs(set), 'Role'), ...byKind(objs(set), 'ClusterRole')];
    expect(roles.length).toBeGreaterThanOrEqual(5);
    for (const r of roles) {
      for (const rule of (r as unknown as { rules: Array<Record<string, string[]>> }).rules) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
          for (const v of rule[field] ?? []) expect(v, `${r.kind}/${r.metadata.name} ${field}`).not.toContain('*');
        }
      }
    }
  });

  it('passes the Redis URL only through secretKeyRef, never as a plain value', () => {
    let refs = 0;
    for (const w of workloads(objs(set))) {
      for (const c of w.pod.containers) {
        for (const e of c.env ?? []) {
          expect(e.value ?? '', `${w.name} ${e.name}`).not.toMatch(/rediss?:\/\//);
          if (/_REDIS_URL$/.test(e.name) || (e.name === 'DESKPLANE_GATEWAY_TICKET_STORE' && e.value !== 'memory')) {
            expect(e.valueFrom?.secretKeyRef, `${w.name} ${e.name}`).toBeDefined();
            refs++;
          }
        }
      }
    }
    // operator, orchestrator, api and the gateway's ticket store
    expect(refs).toBe(4);
  });

  it('runs everything but the host agent as non-root, read-only, without capabilities', () => {
    for (const w of workloads(objs(set))) {
      const c = w.pod.containers[0]!;
      expect(c.securityContext, w.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      if (w.component === 'host-agent') {
        expect(c.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
        expect(w.pod).toMatchObject({ hostNetwork: true, automountServiceAccountToken: false });
        continue;
      }
      expect(w.pod.securityContext, w.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(Number(w.pod.securityContext?.runAsUser)).toBeGreaterThan(0);
      expect(c.securityContext, w.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(w.pod.hostNetwork, w.name).toBeUndefined();
    }
  });

  it('gives every container resources, probes on its own named ports, and no command override', () => {
    for (const w of workloads(objs(set))) {
      const c = w.pod.containers[0]!;
      expect(c.command, w.name).toBeUndefined();
      expect(c.resources?.requests?.memory, w.name).toBeDefined();
      expect(c.resources?.limits?.memory, w.name).toBeDefined();
      const ports = new Set((c.ports ?? []).map((p) => p.name));
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        const action = (probe?.httpGet ?? probe?.tcpSocket) as { port?: string } | undefined;
        expect(action?.port, `${w.name} probe`).toBeDefined();
        expect(ports.has(String(action!.port)), `${w.name} probe port ${action!.port}`).toBe(true);
      }
    }
  });

  it('renders ServiceMonitors only when asked', () => {
    const monitors = byKind(objs(set), 'ServiceMonitor');
    if (set !== 'servicemonitor-values.yaml') return expect(monitors).toHaveLength(0);
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(COMPONENTS.map(name).sort());
    for (const m of monitors) expect(m.metadata.labels?.release).toBe('kube-prometheus-stack');
  });
});

describe('default values', () => {
  const set = 'default';

  it('pulls ghcr.io/deskplane/<name>:<appVersion> for each component', () => {
    const images = Object.fromEntries(workloads(objs(set)).map((w) => [w.component, w.pod.containers[0]!.image]));
    expect(images).toEqual({
      operator: 'ghcr.io/deskplane/deskplane-operator:0.1.0',
      orchestrator: 'ghcr.io/deskplane/deskplane-orchestrator:0.1.0',
      api: 'ghcr.io/deskplane/deskplane-api:0.1.0',
      gateway: 'ghcr.io/deskplane/deskplane-gateway:0.1.0',
      'host-agent': 'ghcr.io/deskplane/deskplane-host-agent:0.1.0',
    });
  });

  it('puts the host agent on nodes labelled deskplane.io/kvm-host=true with the libvirt socket and disk directories', () => {
    const w = workload(objs(set), 'host-agent');
    expect(w.kind).toBe('DaemonSet');
    expect(w.pod.nodeSelector).toEqual({ 'deskplane.io/kvm-host': 'true' });
    expect(w.pod.volumes?.filter((v) => v.hostPath).map((v) => v.hostPath!.path).sort()).toEqual(['/var/lib/deskplane/golden', '/var/lib/deskplane/guests', '/var/run/libvirt']);
    expect(envOf(w.pod.containers[0]!, 'NODE_IP')?.valueFrom?.fieldRef?.fieldPath).toBe('status.hostIP');
    expect(envOf(w.pod.containers[0]!, 'DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS')?.value).toBe('$(NODE_IP)');
  });

  it('elects the operator leader with a Lease in the release namespace it may touch by name only', () => {
    const c = container(set, 'operator');
    expect(envOf(c, 'DESKPLANE_OPERATOR_LEASE_NAMESPACE')?.value).toBe(NAMESPACE);
    const role = find(objs(set), 'Role', `${name('operator')}-leader-election`) as unknown as { rules: Array<Record<string, string[]>> };
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [name('operator')], verbs: ['get', 'update'] },
    ]);
  });

  it('serves the web console, turns Kubernetes auth on and lets the API create TokenReviews', () => {
    const c = container(set, 'api');
    expect(envOf(c, 'DESKPLANE_API_UI_DIR')?.value).toBe('/app/web-console/dist');
    expect(envOf(c, 'DESKPLANE_API_KUBERNETES_AUTH')?.value).toBe('on');
    expect(envOf(c, 'DESKPLANE_API_KUBERNETES_TENANT_GROUP_PREFIX')?.value).toBe('deskplane:tenant:');
    const rules = (find(objs(set), 'ClusterRole', name('api')) as unknown as { rules: Array<Record<string, string[]>> }).rules;
    expect(rules).toContainEqual({ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] });
  });

  it('keeps the gateway admin API on a ClusterIP Service reachable from the api and orchestrator pods only', () => {
    const admin = find(objs(set), 'Service', `${name('gateway')}-admin`) as unknown as { spec: { type: string; ports: Array<{ port: number }> } };
    expect(admin.spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: 7444 }] });
    const publicSvc = find(objs(set), 'Service', name('gateway')) as unknown as { spec: { type: string; ports: Array<{ name: string }> } };
    expect(publicSvc.spec.type).toBe('LoadBalancer');
    expect(publicSvc.spec.ports.map((p) => p.name)).not.toContain('admin');
    const np = find(objs(set), 'NetworkPolicy', name('gateway')) as unknown as { spec: { ingress: Array<{ from?: Array<{ podSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }> } };
    const adminRule = np.spec.ingress.find((r) => r.ports.some((p) => p.port === 7444))!;
    expect(adminRule.from?.map((f) => f.podSelector?.matchLabels['app.kubernetes.io/component']).sort()).toEqual(['api', 'orchestrator']);
  });

  it('registers no hosts and publishes no client discovery without api.publicURL', () => {
    expect(byKind(objs(set), 'KvmHost')).toHaveLength(0);
    expect(objs(set).filter((o) => o.metadata.namespace === 'kube-public')).toHaveLength(0);
    expect(byKind(objs(set), 'Ingress')).toHaveLength(0);
  });
});

describe('tls-values.yaml', () => {
  const set = 'tls-values.yaml';

  it('mounts the gateway TLS Secret read-only and points the SPICE and CONNECT fronts at it', () => {
    const w = workload(objs(set), 'gateway');
    const vol = w.pod.volumes!.find((v) => v.secret?.secretName === 'spice-desk-example-com-tls')!;
    const mount = w.pod.containers[0]!.volumeMounts!.find((m) => m.name === vol.name)!;
    expect(mount.readOnly).toBe(true);
    const c = w.pod.containers[0]!;
    for (const v of ['DESKPLANE_GATEWAY_TLS_CERT', 'DESKPLANE_GATEWAY_CONNECT_TLS_CERT']) expect(envOf(c, v)?.value).toBe(`${mount.mountPath}/tls.crt`);
    for (const v of ['DESKPLANE_GATEWAY_TLS_KEY', 'DESKPLANE_GATEWAY_CONNECT_TLS_KEY']) expect(envOf(c, v)?.value).toBe(`${mount.mountPath}/tls.key`);
    expect(envOf(c, 'DESKPLANE_GATEWAY_WS_TLS_CERT')).toBeUndefined();
    expect(envOf(c, 'DESKPLANE_GATEWAY_WS_ALLOWED_ORIGINS')?.value).toBe('https://desk.example.com');
  });

  it('tells the API the TLS port and the CA for .vv files, from the mounted CA Secret', () => {
    const w = workload(objs(set), 'api');
    const c = w.pod.containers[0]!;
    expect(envOf(c, 'DESKPLANE_API_GATEWAY_TLS_PORT')?.value).toBe('5900');
    expect(envOf(c, 'DESKPLANE_API_GATEWAY_PROXY')?.value).toBe('https://spice.desk.example.com:3128');
    const ca = envOf(c, 'DESKPLANE_API_GATEWAY_CA')!.value!;
    const vol = w.pod.volumes!.find((v) => v.secret?.secretName === 'deskplane-gateway-ca')!;
    expect(ca.startsWith(c.volumeMounts!.find((m) => m.name === vol.name)!.mountPath + '/')).toBe(true);
  });

  it('serves the API through an Ingress with TLS, /spice going to the gateway WebSocket front', () => {
    const ing = find(objs(set), 'Ingress', name('api')) as unknown as { spec: { tls: unknown[]; rules: Array<{ host: string; http: { paths: Array<{ path: string; backend: { service: { name: string; port: { name: string } } } }> } }> } };
    expect(ing.spec.tls).toEqual([{ hosts: ['desk.example.com'], secretName: 'desk-example-com-tls' }]);
    const paths = Object.fromEntries(ing.spec.rules[0]!.http.paths.map((p) => [p.path, `${p.backend.service.name}:${p.backend.service.port.name}`]));
    expect(paths).toEqual({ '/': `${name('api')}:http`, '/spice': `${name('gateway')}:websocket` });
  });

  it('uses mutual TLS between components: every pod mounts its own Secret, the admin API is not insecure', () => {
    const secrets = Object.fromEntries(workloads(objs(set)).map((w) => [w.component, w.pod.volumes!.find((v) => v.name === 'internal-tls')?.secret?.secretName]));
    expect(secrets).toEqual({ operator: 'deskplane-operator-mtls', orchestrator: 'deskplane-orchestrator-mtls', api: 'deskplane-api-mtls', gateway: 'deskplane-gateway-mtls', 'host-agent': 'deskplane-host-agent-mtls' });
    const gw = container(set, 'gateway');
    expect(envOf(gw, 'DESKPLANE_GATEWAY_ADMIN_INSECURE')).toBeUndefined();
    expect(envOf(gw, 'DESKPLANE_GATEWAY_ADMIN_TLS_CLIENT_CA')?.value).toBe('/etc/deskplane/internal-tls/ca.crt');
  });

  it('reads Redis from the existing Secret and makes none itself', () => {
    expect(envOf(container(set, 'operator'), 'DESKPLANE_OPERATOR_REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'deskplane-redis-url', key: 'redis-url' });
    expect(byKind(objs(set), 'Secret').map((s) => s.metadata.name)).not.toContain(name('redis'));
  });

  it('publishes the API URL in kube-public for signed-in users, by name only', () => {
    const cm = find(objs(set), 'ConfigMap', 'deskplane-client') as unknown as { metadata: { namespace: string }; data: Record<string, string> };
    expect(cm.metadata.namespace).toBe('kube-public');
    expect(cm.data).toEqual({ apiURL: 'https://desk.example.com' });
    const role = find(objs(set), 'Role', name('client-discovery')) as unknown as { rules: unknown[] };
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['deskplane-client'], verbs: ['get'] }]);
    const rb = find(objs(set), 'RoleBinding', name('client-discovery')) as unknown as { subjects: unknown[] };
    expect(rb.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }]);
  });
});

describe('external-redis-password-values.yaml', () => {
  const set = 'external-redis-password-values.yaml';
  const password = 's3cr3t p@ss/w0rd+%';

  it('keeps the password in the chart Secret only, percent-encoded into the rediss:// URL', () => {
    expect(renderedSecrets(objs(set)).get(`${name('redis')}/url`)).toBe('rediss://deskplane:s3cr3t%20p%40ss%2Fw0rd%2B%25@redis.data.svc.cluster.local:6380/2');
    const u = new URL(renderedSecrets(objs(set)).get(`${name('redis')}/url`)!);
    expect(decodeURIComponent(u.password)).toBe(password);
    // Nowhere in the rendered text in clear: not in env, annotations or comments.
    expect(texts.get(set)).not.toContain('s3cr3t');
  });

  it('points all four Redis users at that Secret', () => {
    const refs = [
      envOf(container(set, 'operator'), 'DESKPLANE_OPERATOR_REDIS_URL'),
      envOf(container(set, 'orchestrator'), 'DESKPLANE_ORCHESTRATOR_REDIS_URL'),
      envOf(container(set, 'api'), 'DESKPLANE_API_REDIS_URL'),
      envOf(container(set, 'gateway'), 'DESKPLANE_GATEWAY_TICKET_STORE'),
    ].map((e) => e?.valueFrom?.secretKeyRef);
    for (const r of refs) expect(r).toEqual({ name: name('redis'), key: 'url' });
  });

  it('shares tickets between two gateway replicas with a generated 32-byte key', () => {
    expect((find(objs(set), 'Deployment', name('gateway')) as unknown as { spec: { replicas: number } }).spec.replicas).toBe(2);
    const key = renderedSecrets(objs(set)).get(`${name('gateway-ticket-key')}/ticket-key`)!;
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
  });
});

describe('selected-nodes-values.yaml', () => {
  const set = 'selected-nodes-values.yaml';

  it('runs the host agent only where the nodeSelector, affinity and tolerations say', () => {
    const w = workload(objs(set), 'host-agent');
    expect(w.pod.nodeSelector).toEqual({ 'example.com/hypervisor': 'kvm' });
    expect(w.pod.affinity).toEqual({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] }] } } });
    expect(w.pod.tolerations).toEqual([{ key: 'example.com/hypervisor', operator: 'Equal', value: 'kvm', effect: 'NoSchedule' }]);
    // The other workloads keep their own (empty) placement.
    expect(workload(objs(set), 'operator').pod.tolerations).toBeUndefined();
  });

  it('registers one KvmHost per hosts entry, IPv6 addresses in brackets', () => {
    const hosts = byKind(objs(set), 'KvmHost').map((h) => [h.metadata.name, (h as unknown as { spec: { agentEndpoint: string } }).spec.agentEndpoint, h.metadata.labels?.['topology.kubernetes.io/zone']]);
    expect(hosts).toEqual([['kvm-a', '10.20.0.11:7443', 'zone-a'], ['kvm-b', '[fd00::12]:7443', undefined]]);
  });

  it('exposes the gateway on fixed node ports and writes those into .vv settings', () => {
    const svc = find(objs(set), 'Service', name('gateway')) as unknown as { spec: { type: string; ports: Array<{ name: string; nodePort?: number }> } };
    expect(svc.spec.type).toBe('NodePort');
    expect(Object.fromEntries(svc.spec.ports.map((p) => [p.name, p.nodePort]))).toEqual({ spice: 30900, connect: 30901, websocket: 30959 });
    expect(envOf(container(set, 'api'), 'DESKPLANE_API_GATEWAY_PORT')?.value).toBe('30900');
    expect(envOf(container(set, 'orchestrator'), 'DESKPLANE_ORCHESTRATOR_GATEWAY_GRAPHICS_URI')?.value).toBe('spice://spice.example.org:30900');
  });
});

describe('values the chart refuses', () => {
  const refused = async (args: string[]): Promise<string> => {
    const r = await run(t.helm, ['template', RELEASE, CHART, ...args]);
    expect(r.code, r.stdout.slice(0, 200)).not.toBe(0);
    return r.stderr;
  };

  it('a misspelt key, naming it and where it is', async () => {
    const err = await refused(['--set', 'operator.replicsa=2']);
    expect(err).toMatch(/\/operator.*additional properties 'replicsa' not allowed/);
  });

  it('a misspelt top-level block', async () => {
    expect(await refused(['--set', 'gatway.publicHost=x'])).toContain("'gatway'");
  });

  it('a value outside an enum, naming the field', async () => {
    expect(await refused(['--set', 'gateway.service.type=Public'])).toMatch(/\/gateway\/service\/type.*must be one of/);
    expect(await refused(['--set', 'operator.schedulerStrategy=random'])).toMatch(/\/operator\/schedulerStrategy.*must be one of/);
  });

  it('a password inside redis.url (it belongs in redis.password or a Secret)', async () => {
    expect(await refused(['--set', 'redis.url=redis://:hunter2@redis:6379'])).toContain('/redis/url');
  });

  it('several gateway replicas without a shared ticket store', async () => {
    expect(await refused(['--set', 'gateway.replicas=2', '--set', 'gateway.tickets.store=memory'])).toContain('gateway.tickets.store=redis');
  });

  it('a cluster older than the chart\'s kubeVersion (>=1.29)', async () => {
    expect(await refused(['--kube-version', '1.28.9'])).toMatch(/kubeVersion.*>=1\.29/i);
  });

  it('NodePort without the fixed port .vv files must name', async () => {
    expect(await refused(['--set', 'gateway.service.type=NodePort', '--set', 'gateway.publicHost=gw.example'])).toContain('gateway.service.nodePorts.spice');
  });
});

describe('NOTES.txt', () => {
  const notes = async (set: string): Promise<string> => {
    const r = await run(t.helm, ['install', RELEASE, CHART, '-n', NAMESPACE, '--dry-run=client', ...valuesArgs(set)]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.slice(r.stdout.indexOf('NOTES:'));
  };

  it('says that no host was registered, how to register one, and that the gateway has no public address yet', async () => {
    const text = await notes('default');
    expect(text).toContain('kubectl label node <node> deskplane.io/kvm-host=true');
    expect(text).toContain('this release created none (hosts: [])');
    expect(text).toContain('agentEndpoint: "<node address>:7443"');
    expect(text).toContain('gateway.publicHost is NOT set');
    expect(text).toContain('kubectl-plugin/bin/install');
    expect(text).toContain('kubectl apply --server-side -f crds/');
  });

  it('lists the hosts it registered and where consoles connect', async () => {
    const text = await notes('selected-nodes-values.yaml');
    expect(text).toContain('this release created 2');
    expect(text).toContain('kvm-b → [fd00::12]:7443');
    expect(text).toContain('consoles name spice.example.org:30900');
    expect(text).not.toContain('deskplane.io/kvm-host=true');
  });

  it('points at the public API, web console and discovery ConfigMap', async () => {
    const text = await notes('tls-values.yaml');
    expect(text).toContain('https://desk.example.com/ui/');
    expect(text).toContain('ConfigMap kube-public/deskplane-client (https://desk.example.com)');
    expect(text).toContain('spice.desk.example.com:5900 (TLS)');
  });
});
