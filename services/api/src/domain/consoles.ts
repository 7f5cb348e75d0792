/**
 * Console access: a short-lived gateway ticket for a running desktop, handed back as a
 * `.vv` file for remote-viewer or as a browser console URL. The guest's real SPICE password
 * goes from the secret store to the gateway only; the caller gets the ticket.
 */
import { buildVvFile } from '@deskplane/gateway';
import type { ConsoleSecretStore } from '@deskplane/orchestrator';
import { audit, oneTenant, type AuditSink } from './access';
import type { Caller } from './caller';
import { mayAct } from './desktop-view';
import { BadRequest, Conflict, Forbidden } from './errors';
import type { GatewayAccess } from './gateway-access';
import { clients, type StoreClients } from './resources';

export interface ConsoleConfig {
  /** What remote-viewer connects to: the gateway's public address. */
  gateway: {
    host: string;
    port: number;
    /** The gateway's SPICE TLS port, when it has one (the `.vv` then insists on TLS). */
    tlsPort?: number;
    /** PEM of the CA that signs the TLS port's certificate. */
    caCert?: string;
    hostSubject?: string;
    /** HTTP CONNECT proxy for remote-viewer (`proxy=`), e.g. the gateway's CONNECT front. */
    proxy?: string;
    /** The gateway's WebSocket front as browsers reach it (ws:// or wss://); goes in browser console URLs. */
    websocketUrl?: string;
  };
  /** Base URL of the browser console; the ticket goes in the fragment, `{name}` becomes the desktop's name. Unset: browser consoles are off. */
  browserBaseUrl?: string;
  /** How long a ticket can start a session. Default 60. */
  ticketTtlSeconds?: number;
}

export interface ConsolesDeps {
  store: StoreClients;
  secrets: Pick<ConsoleSecretStore, 'get'>;
  gateway: GatewayAccess;
  config: ConsoleConfig;
  audit?: AuditSink;
}

export type ConsoleKind = 'vv' | 'browser';

export type ConsoleResult =
  | { kind: 'vv'; fileName: string; contentType: 'application/x-virt-viewer'; body: string; expiresAt: string }
  | { kind: 'browser'; url: string; expiresAt: string };

export class Consoles {
  private readonly desktops;

  constructor(private readonly deps: ConsolesDeps) {
    this.desktops = clients(deps.store).desktops;
  }

  /** Refuses a console kind this server cannot hand out, before anything is done for it (a pool claim). */
  checkKind(kind: ConsoleKind): void {
    if (kind !== 'vv' && kind !== 'browser') throw new BadRequest('kind must be vv or browser', 'kind');
    if (kind === 'browser' && !this.deps.config.browserBaseUrl) throw new BadRequest('this server offers no browser console; ask for a .vv file', 'kind');
  }

  /**
   * A console for the caller's own running desktop. Another tenant's desktop is NotFound,
   * a colleague's is Forbidden (consoles are for the owner only, admins included), a
   * desktop that is not Running with its console ready is 409.
   */
  async open(caller: Caller, name: string, kind: ConsoleKind, opts: { tenant?: string } = {}): Promise<ConsoleResult> {
    this.checkKind(kind);
    const tenant = oneTenant(caller, opts.tenant);
    const d = mayAct(caller, typeof name === 'string' && name !== '' ? await this.desktops.get(name, tenant) : undefined, String(name));
    if (d.spec.owner !== caller.user) throw new Forbidden(`only the owner of desktop ${JSON.stringify(name)} may open its console`);
    const phase = d.status?.phase ?? 'Pending';
    if (d.metadata.deletionTimestamp) throw new Conflict(`desktop ${JSON.stringify(name)} is being deleted`);
    if (phase !== 'Running') throw new Conflict(`desktop ${JSON.stringify(name)} is ${phase}, not Running: ${phase === 'Stopped' ? 'start it first' : 'try again once it runs'}`);
    const console = d.status?.console;
    if (!console?.ready || !console.address || !console.port) throw new Conflict(`the console of desktop ${JSON.stringify(name)} is not ready yet; try again in a moment`);
    const password = await this.deps.secrets.get({ namespace: tenant, name: d.metadata.name, uid: d.metadata.uid ?? '' });
    if (password === undefined) throw new Conflict(`desktop ${JSON.stringify(name)} has no console password yet; try again in a moment`);

    const ttlSeconds = this.deps.config.ticketTtlSeconds ?? 60;
    const { ticket, expiresAt } = await this.deps.gateway.mint({
      user: caller.user,
      tenant,
      desktop: `${tenant}/${d.metadata.name}`,
      groups: caller.groups,
      // The operator does not record the policy it resolved on the desktop: the gateway resolves it.
      upstream: { host: console.address, port: console.port, password },
      ttlSeconds,
    });
    await audit(this.deps.audit, caller, 'console.open', { tenant, desktop: d.metadata.name, details: { kind } });
    const at = expiresAt.toISOString();
    const gw = this.deps.config.gateway;
    if (kind === 'browser') return { kind, url: browserUrl(this.deps.config.browserBaseUrl!, ticket, `${tenant}/${d.metadata.name}`, gw.websocketUrl), expiresAt: at };
    const body = buildVvFile({
      host: gw.host,
      port: gw.port,
      password: ticket,
      title: `${d.metadata.name} (${tenant})`,
      ...(gw.proxy !== undefined ? { proxy: gw.proxy } : {}),
      ...(gw.tlsPort !== undefined ? { tlsPort: gw.tlsPort } : {}),
      ...(gw.caCert !== undefined ? { caCert: gw.caCert } : {}),
      ...(gw.hostSubject !== undefined ? { hostSubject: gw.hostSubject } : {}),
      deleteThisFile: true,
    });
    return { kind, fileName: `${d.metadata.name}.vv`, contentType: 'application/x-virt-viewer', body, expiresAt: at };
  }
}

/**
 * The browser console URL: the ticket travels in the fragment, which browsers never send
 * to a server (no access log, proxy or Referer sees it); a query string would leak it. With
 * `websocketUrl`, the fragment also says where the gateway's WebSocket front is (`gateway`).
 */
export function browserUrl(base: string, ticket: string, desktop: string, websocketUrl?: string): string {
  const name = desktop.slice(desktop.lastIndexOf('/') + 1);
  const url = new URL(base.replaceAll('{name}', encodeURIComponent(name)));
  url.hash = new URLSearchParams({ ticket, desktop, ...(websocketUrl !== undefined && { gateway: websocketUrl }) }).toString();
  return url.toString();
}
