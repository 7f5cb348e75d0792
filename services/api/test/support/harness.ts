/**
 * The API on a real backend for the e2e suites: an EmbeddedStore, or the testbed's
 * kube-apiserver (CRDs applied, fresh namespaces per run), with a real SPICE gateway in
 * this process reached in-process or over its admin gRPC API, and the app built by
 * buildApi exactly as main.ts builds it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapsBook, CapsProber, GatewayAdminClient, MemoryTicketStore, startAdminServer, startGateway, type AdminServer, type Gateway } from '@deskplane/gateway';
import { EmbeddedStore, KubernetesStore, type ResourceStore } from '@deskplane/resource-store';
import { loadState } from '@deskplane/testbed';
import { emptyNamespace, kubectl } from '../../../../operators/desktop-operator/test/support/kubectl';
import { parseConfig } from '../../src/config';
import { apiSchemas } from '../../src/domain/resources';
import { GrpcGatewayAccess, InProcessGatewayAccess } from '../../src/domain/gateway-access';
import { createApiApp, type ApiApp } from '../../src/http/app';
import { createApiLogger } from '../../src/http/observability';
import { buildApi, type BuiltApi } from '../../src/wiring';

export { kubectl };
export const ROOT = join(__dirname, '../../../..');

export type BackendKind = 'embedded' | 'kube';
export const BACKENDS: BackendKind[] = ['embedded', 'kube'];

export interface Backend {
  kind: BackendKind;
  store: ResourceStore;
  /** Fresh per run: two tenants' namespaces and the shared templates' namespace. */
  ns: { a: string; b: string; shared: string };
  close(): Promise<void>;
}

let crdsApplied: Promise<unknown> | undefined;

/** Applies the CRDs (Tenant included) once per process and waits until the apiserver serves them. */
export function applyCrds(): Promise<unknown> {
  crdsApplied ??= kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'packages/api/crds/')]).then(() =>
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'packages/api/crds/')]),
  );
  return crdsApplied;
}

export async function openBackend(kind: BackendKind, tag: string): Promise<Backend> {
  const run = randomBytes(3).toString('hex');
  const ns = { a: `${tag}-a-${run}`, b: `${tag}-b-${run}`, shared: `${tag}-shared-${run}` };
  if (kind === 'embedded') {
    const store = new EmbeddedStore({ schemas: apiSchemas() });
    return { kind, store, ns, close: () => store.close() };
  }
  await applyCrds();
  for (const n of Object.values(ns)) await kubectl(['create', 'namespace', n]);
  const store = new KubernetesStore({ kubeconfig: loadState().kube!.kubeconfig, instance: `${tag}-${run}` });
  return {
    kind,
    store,
    ns,
    async close() {
      await store.close();
      // No controller-manager on the testbed: namespaces are emptied, not deleted (they would stay Terminating).
      for (const n of Object.values(ns)) {
        await emptyNamespace(n).catch(() => undefined);
        await kubectl(['delete', 'secrets', '--all', '-n', n, '--ignore-not-found']).catch(() => undefined);
      }
      await kubectl(['delete', 'tenants.deskplane.io', ns.a, ns.b, '--ignore-not-found']).catch(() => undefined);
    },
  };
}

export interface Platform {
  api: ApiApp;
  built: BuiltApi;
  gateway: Gateway;
  tickets: MemoryTicketStore;
  /** How the API reached the gateway. */
  gatewayAccess: 'in-process' | 'grpc';
  close(): Promise<void>;
}

/**
 * A real gateway (loopback, free port) and the API over `backend`: the embedded backend
 * reaches the gateway in-process, the kube backend over the admin gRPC API, so both
 * GatewayAccess implementations serve the suites.
 */
export async function startPlatform(backend: Backend, env: Record<string, string> = {}): Promise<Platform> {
  const dir = mkdtempSync(join(tmpdir(), 'api-e2e-'));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [] }));
  const tickets = new MemoryTicketStore();
  const caps = new CapsBook();
  const prober = new CapsProber(caps, { timeoutMs: 2_000 });
  const gateway = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, tickets, caps });
  let admin: AdminServer | undefined;
  let client: GatewayAdminClient | undefined;
  let access;
  if (backend.kind === 'kube') {
    admin = await startAdminServer({ listen: { host: '127.0.0.1', port: 0 }, deps: { sessions: gateway.sessions, tickets, caps: prober } });
    client = new GatewayAdminClient(`127.0.0.1:${admin.port}`);
    access = new GrpcGatewayAccess(client);
  } else {
    access = new InProcessGatewayAccess({ gateway, tickets, caps: prober });
  }
  const config = parseConfig({
    DESKPLANE_API_USERS_FILE: join(dir, 'users.json'),
    DESKPLANE_API_DATA_DIR: join(dir, 'data'),
    DESKPLANE_API_LISTEN: '127.0.0.1:0',
    DESKPLANE_API_VALIDATE_RESPONSES: 'true',
    DESKPLANE_API_GATEWAY_HOST: '127.0.0.1',
    DESKPLANE_API_GATEWAY_PORT: String(gateway.port),
    DESKPLANE_API_SHARED_TEMPLATES_NAMESPACE: backend.ns.shared,
    DESKPLANE_API_BROWSER_CONSOLE_URL: 'https://console.example/',
    ...env,
  });
  const built = buildApi({ config, store: backend.store, gateway: access });
  const api = await createApiApp({ ...built.deps, logger: createApiLogger(process.env.API_TEST_LOG === '1' ? 'info' : 'silent') }, config, { controllers: built.controllers });
  return {
    api,
    built,
    gateway,
    tickets,
    gatewayAccess: backend.kind === 'kube' ? 'grpc' : 'in-process',
    async close() {
      await api.close();
      await built.close();
      client?.close();
      await admin?.close();
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A listed object: the fields tests pick out by name; the rest are compared as they come. */
export interface Item {
  name: string;
  key: string;
  action: string;
  [field: string]: unknown;
}

/** A JSON body read by tests: a list, an error, or one object's fields. */
export interface Body {
  items: Item[];
  error: { code: string; message: string; field?: string; quota?: string; reason?: string; requestId: string };
  [field: string]: unknown;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Body;
}

/** One request; the body is parsed when it is JSON. */
export async function call(api: ApiApp, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(api.url + path, { method, headers, ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }) });
  const text = await res.text();
  const body = (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as Body;
  return { status: res.status, headers: res.headers, text, body };
}
