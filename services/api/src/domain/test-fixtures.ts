/**
 * Shared set-up for the domain's unit tests: a real EmbeddedStore with the CRD schemas,
 * callers of each role, objects as the operator and orchestrator would write them, and
 * a stand-in gateway for tests where the gateway is not the point.
 */
import { API_VERSION, type DesktopPhase } from '@deskplane/api';
import { EmbeddedStore, retryOnConflict } from '@deskplane/resource-store';
import type { Caller, Role } from './caller';
import type { GatewayAccess, GatewaySession, SessionFilter, TicketRequest } from './gateway-access';
import { apiSchemas, clients, type DesktopObject, type HostObject, type TemplateObject, type TenantObject } from './resources';

export function newStore(): EmbeddedStore {
  return new EmbeddedStore({ schemas: apiSchemas() });
}

export function caller(user: string, tenant: string, ...roles: Role[]): Caller {
  return { subject: `sub-${user}`, user, tenant, groups: [`${tenant}-staff`], roles: new Set<Role>(roles.length ? roles : ['user']) };
}

export async function addTemplate(store: EmbeddedStore, namespace: string, name: string, vcpus: number, memory: string): Promise<TemplateObject> {
  return clients(store).templates.create({
    apiVersion: API_VERSION,
    kind: 'DesktopTemplate',
    metadata: { name, namespace },
    spec: { image: 'debian-12', vcpus, memory },
  });
}

export async function addTenant(store: EmbeddedStore, name: string, spec: TenantObject['spec']): Promise<TenantObject> {
  return clients(store).tenants.create({ apiVersion: API_VERSION, kind: 'Tenant', metadata: { name }, spec });
}

export async function addDesktop(store: EmbeddedStore, namespace: string, name: string, owner: string, template: string): Promise<DesktopObject> {
  return clients(store).desktops.create({
    apiVersion: API_VERSION,
    kind: 'VirtualDesktop',
    metadata: { name, namespace },
    spec: { templateRef: { name: template }, owner },
  });
}

export async function addHost(store: EmbeddedStore, name: string): Promise<HostObject> {
  return clients(store).hosts.create({ apiVersion: API_VERSION, kind: 'KvmHost', metadata: { name }, spec: { agentEndpoint: `${name}:7443` } });
}

/** Writes a desktop's status as the operator and orchestrator would (phase, host, console). */
export async function setPhase(store: EmbeddedStore, namespace: string, name: string, phase: DesktopPhase, host = 'kvm-host-1'): Promise<DesktopObject> {
  const c = clients(store).desktops;
  const running = phase === 'Running';
  const out = await retryOnConflict(
    c,
    name,
    namespace,
    (d) => ({
      ...d,
      status: {
        ...d.status,
        phase,
        host,
        console: running ? { ready: true, address: '127.0.0.1', port: 5901 } : { ready: false },
        conditions: [{ type: 'Ready', status: running ? ('True' as const) : ('False' as const), reason: running ? 'Running' : phase, message: `${phase} on ${host}`, lastTransitionTime: '2025-01-01T00:00:00Z' }],
      },
    }),
    { status: true },
  );
  return out!;
}

/**
 * Stand-in for the gateway (NOT the real one): keeps minted requests and a session list
 * the test writes. `ignoreFilters` plays a gateway that returns every session whatever
 * the filter, to show the domain's own check.
 */
export class FakeGateway implements GatewayAccess {
  readonly minted: TicketRequest[] = [];
  sessions: GatewaySession[] = [];
  ignoreFilters = false;

  mint(req: TicketRequest): Promise<{ ticket: string; expiresAt: Date }> {
    this.minted.push(req);
    return Promise.resolve({ ticket: `ticket-${this.minted.length}`, expiresAt: new Date(Date.now() + req.ttlSeconds * 1000) });
  }

  listSessions(f: SessionFilter): Promise<GatewaySession[]> {
    const match = (s: GatewaySession): boolean =>
      this.ignoreFilters || ((f.tenant === undefined || s.tenant === f.tenant) && (f.user === undefined || s.user === f.user) && (f.desktop === undefined || s.desktop === f.desktop));
    return Promise.resolve(this.sessions.filter(match).map((s) => ({ ...s })));
  }

  killSession(key: string): Promise<GatewaySession | undefined> {
    const s = this.sessions.find((x) => x.key === key);
    this.sessions = this.sessions.filter((x) => x.key !== key);
    return Promise.resolve(s);
  }
}

export function session(key: string, tenant: string, user: string, desktop: string): GatewaySession {
  return {
    key,
    user,
    tenant,
    desktop: `${tenant}/${desktop}`,
    source: '192.0.2.10:40000',
    transport: 'tcp',
    openedAt: '2025-01-01T00:00:00.000Z',
    lastInputAt: '2025-01-01T00:00:00.000Z',
    upstream: '10.0.0.7:5901',
    policy: '',
    migrating: false,
    channels: [{ name: 'main', bytesToClient: 10, bytesToGuest: 5 }],
  };
}
