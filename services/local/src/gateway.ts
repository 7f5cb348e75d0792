/**
 * The SPICE gateway inside the local run: plain SPICE and CONNECT fronts on loopback, the
 * admin API (what the API uses on a cluster), DesktopPolicies from the run's own embedded
 * store, audit lines to a file and to the Redis stream the API's audit query reads, and the
 * orchestrator's migration hooks calling it in-process.
 *
 * Tickets live in memory. A Redis ticket store would only matter across a restart, and a
 * restart ends every session (the gateway's sockets close and remote-viewer does not
 * reconnect), `.vv` files delete themselves once used and tickets expire within minutes;
 * `testbed/bin/local` also takes its Redis down on exit. What a restart must keep, it
 * keeps: the desktops and their consoles (the store) and the audit stream.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import {
  CapsBook,
  CapsProber,
  MemoryTicketStore,
  StorePolicySource,
  attachAudit,
  PresenceWriter,
  RedisAuditStream,
  startAdminServer,
  startGateway,
  type AdminServer,
  type Gateway,
  type GatewayLog,
  type MintRequest,
  type TicketStore,
  type UpstreamTarget,
} from '@deskplane/gateway';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';
import { embeddedSecretStore, type MigrationHooks } from '@deskplane/orchestrator';
import type { ResourceStore } from '@deskplane/resource-store';
import { freePort } from '@deskplane/testbed';
import type { Redis } from 'ioredis';

export interface Address {
  host: string;
  port: number;
}

export interface LocalGatewayOptions {
  /** The run's embedded store: DesktopPolicies, desktops' console endpoints and passwords. */
  store: ResourceStore;
  /** For the audit stream `<prefix>:audit`. */
  redis: Redis;
  /** Redis key prefix of the gateway (the audit stream is `<prefix>:audit`). */
  prefix: string;
  /** Plain SPICE. Port 0 = a free port, chosen before start (the CONNECT front must name it). */
  listen: Address;
  /** HTTP CONNECT front (remote-viewer `proxy=`); it tunnels only to the SPICE address above. */
  connectListen?: Address;
  /** WebSocket front for the browser console (spice-html5), path /spice. */
  websocketListen?: Address;
  /** Admin gRPC API; default 127.0.0.1 and a free port (no TLS: loopback only). */
  adminListen?: Address;
  /** Gateway events as JSON lines (tickets and passwords redacted). */
  logFile: string;
}

export interface LocalGateway {
  gateway: Gateway;
  tickets: TicketStore;
  /** The host clients put in `.vv` files (the SPICE listen address; loopback for a wildcard). */
  host: string;
  port: number;
  connectPort?: number;
  websocketPort?: number;
  /** ws://host:port/spice: where browser consoles connect (the API puts it in their URLs). */
  websocketUrl?: string;
  /** host:port of the admin gRPC API (GatewayAdminClient; MintTicket probes the guest first). */
  adminAddress: string;
  /** The Redis stream of ended sessions (RedisAuditReader reads it). */
  auditKey: string;
  /** What the orchestrator is started with, so live migrations carry clients along. */
  hooks: MigrationHooks;
  /** Where a running desktop's console is, with its real password (for mint). */
  upstreamOf(namespace: string, name: string): Promise<UpstreamTarget>;
  /** Mints like the admin API's MintTicket: learns the guest's link capabilities first. */
  mintTicket(req: MintRequest): Promise<{ ticket: string; ticketHash: string; expiresAt: number }>;
  /** Learns a guest's link capabilities once (what mintTicket does first); for the API's InProcessGatewayAccess. */
  ensureCaps(target: UpstreamTarget): Promise<void>;
  close(): Promise<void>;
}

interface DesktopView {
  metadata: { name: string; namespace?: string; uid?: string };
  status?: { phase?: string; console?: { ready?: boolean; address?: string; port?: number } };
}

const SECRET_KEYS = /password|ticket/i;

/** JSON lines into a file; keys naming a password or ticket are redacted (the gateway never logs them anyway). */
function fileLog(file: string): { log: GatewayLog; close(): Promise<void> } {
  mkdirSync(join(file, '..'), { recursive: true });
  const out: WriteStream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  out.on('error', () => undefined); // a full disk must not stop the consoles
  const log: GatewayLog = (event, fields) => {
    const text = JSON.stringify({ time: new Date().toISOString(), event, ...fields }, (k, v: unknown) => (SECRET_KEYS.test(k) && k !== 'ticketHash' ? '[redacted]' : v));
    out.write(text + '\n');
  };
  return { log, close: () => new Promise<void>((resolve) => out.end(resolve)) };
}

const WEBSOCKET_PATH = '/spice';

/** The host a browser uses for a listen address (loopback for a wildcard, brackets for IPv6). */
function wsHost(h: string): string {
  if (h === '0.0.0.0' || h === '::') return '127.0.0.1';
  return h.includes(':') ? `[${h}]` : h;
}

async function resolvePort(a: Address): Promise<Address> {
  return a.port === 0 ? { host: a.host, port: await freePort() } : a;
}

export async function startLocalGateway(o: LocalGatewayOptions): Promise<LocalGateway> {
  const file = fileLog(o.logFile);
  const log = file.log;
  const tickets = new MemoryTicketStore();
  const caps = new CapsBook();
  const prober = new CapsProber(caps);
  const closers: (() => Promise<void> | void)[] = [() => file.close()];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  try {
    const policies = await StorePolicySource.start(o.store, { log });
    closers.push(() => policies.close());
    const audit = new RedisAuditStream(o.redis, { prefix: o.prefix, log });
    // After the gateway has closed (closers run last first): lines of the sessions it ended.
    closers.push(() => audit.flush());
    // Who is connected to which desktop: the operator's logout release and idle stop read it.
    const presence = new PresenceWriter({ redis: o.redis, prefix: o.prefix, log });
    closers.push(() => presence.stop());

    const spice = await resolvePort(o.listen);
    const host = spice.host === '0.0.0.0' || spice.host === '::' ? '127.0.0.1' : spice.host;
    const connect = o.connectListen && (await resolvePort(o.connectListen));
    const gateway = await startGateway({
      listen: spice,
      ...(connect && { httpConnect: { listen: connect, allowedTargets: [`${host}:${spice.port}`, `localhost:${spice.port}`] } }),
      ...(o.websocketListen && { websocket: { listen: o.websocketListen, path: WEBSOCKET_PATH } }),
      tickets,
      log,
      policies,
      caps,
    });
    closers.push(() => gateway.close());
    attachAudit(gateway.sessions, log);
    audit.attach(gateway.sessions);
    presence.attach(gateway.sessions);
    presence.start();

    const adminAt = o.adminListen ?? { host: '127.0.0.1', port: 0 };
    const admin: AdminServer = await startAdminServer({
      listen: adminAt,
      deps: { sessions: gateway.sessions, tickets, policies, caps: prober, migration: gateway.migrations, log },
    });
    closers.push(() => admin.close());

    const desktopKey = (m: { namespace: string; desktop: string }): string => `${m.namespace}/${m.desktop}`;
    const hooks: MigrationHooks = {
      graphicsUri: `spice://${host}:${gateway.port}`,
      // The orchestrator's defaults for a remote gateway (GATEWAY_HOLD_MIBPS, READY_TIMEOUT_MS).
      holdBandwidthMiBps: 2,
      beforeLiftingCap: async (m) => {
        await gateway.migrations.prepare({ desktop: desktopKey(m), destination: { host: m.destination.address, port: m.destination.port, password: '' }, timeoutMs: 15_000 });
      },
      afterMigration: (m) => gateway.migrations.finish({ desktop: desktopKey(m), succeeded: m.succeeded }),
    };

    const desktops = o.store.client(RESOURCE_TYPES.VirtualDesktop);
    const secrets = embeddedSecretStore(o.store);
    const upstreamOf = async (namespace: string, name: string): Promise<UpstreamTarget> => {
      const d = (await desktops.get(name, namespace)) as DesktopView | undefined;
      const c = d?.status?.console;
      if (!d || !c?.ready || !c.address || !c.port) throw new Error(`desktop ${namespace}/${name} has no console (phase ${d?.status?.phase ?? 'unknown'})`);
      const password = await secrets.get({ namespace, name, uid: d.metadata.uid ?? '' });
      if (password === undefined) throw new Error(`desktop ${namespace}/${name} has no console password`);
      return { host: c.address, port: c.port, password };
    };

    return {
      gateway,
      tickets,
      host,
      port: gateway.port,
      ...(gateway.connectPort !== undefined && { connectPort: gateway.connectPort }),
      ...(gateway.websocketPort !== undefined && { websocketPort: gateway.websocketPort, websocketUrl: `ws://${wsHost(o.websocketListen!.host)}:${gateway.websocketPort}${WEBSOCKET_PATH}` }),
      adminAddress: `${adminAt.host}:${admin.port}`,
      auditKey: audit.key,
      hooks,
      upstreamOf,
      async mintTicket(req) {
        await prober.ensure(req.upstream);
        return tickets.mint(req);
      },
      ensureCaps: (target) => prober.ensure(target),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
