#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { EmbeddedStore, KubernetesStore, type ResourceStore } from '@deskplane/resource-store';
import { startAdminServer, type AdminServer } from './admin';
import { attachAudit, RedisAuditStream } from './audit';
import { CapsBook } from './caps-book';
import { CapsProber } from './caps-probe';
import { ConfigError, parseConfig, type GatewayConfig, type TlsPair } from './config';
import { startGateway, type GatewayOptions } from './index';
import { createLogger, gatewayLog, type Logger } from './log';
import { GatewayMetrics, startMetricsServer, type Health, type MetricsServer } from './metrics';
import { StorePolicySource, type PolicySource } from './policy';
import { PresenceWriter } from './presence';
import { MemoryTicketStore, type TicketStore } from './tickets';
import { RedisTicketStore } from './tickets-redis';
import { frontContext, type FrontTls } from './tls-front';

type WiredOptions = GatewayOptions;

/** Closes what was opened, last first; a failing closer does not stop the others. */
class Closers {
  private readonly list: { name: string; close: () => Promise<void> | void }[] = [];
  add(name: string, close: () => Promise<void> | void): void {
    this.list.push({ name, close });
  }
  async run(log: Logger): Promise<boolean> {
    let clean = true;
    for (const c of this.list.reverse()) {
      await Promise.resolve()
        .then(c.close)
        .catch((err: unknown) => {
          clean = false;
          log.error({ err, part: c.name }, 'close failed');
        });
    }
    return clean;
  }
}

async function run(config: GatewayConfig, log: Logger): Promise<(signal: string) => Promise<boolean>> {
  const glog = gatewayLog(log);
  const closers = new Closers();
  let stopping = false;
  let started = false;
  try {
    // Read and checked before anything listens, so a bad file stops the start naming its variable.
    const tls = frontTls(config.tls, 'TLS');
    const connectTls = frontTls(config.httpConnect?.tls, 'CONNECT_TLS');
    const wsTls = frontTls(config.websocket?.tls, 'WS_TLS');

    let redis: Redis | undefined;
    let auditStream: RedisAuditStream | undefined;
    let presence: PresenceWriter | undefined;
    let tickets: TicketStore;
    if (config.tickets.kind === 'redis') {
      const r = (redis = new Redis(config.tickets.url, { maxRetriesPerRequest: 2, lazyConnect: true }));
      closers.add('redis', () => void r.disconnect());
      await r.connect();
      tickets = new RedisTicketStore({ redis: r, key: config.tickets.key, previousKeys: config.tickets.previousKeys, ...(config.tickets.prefix !== undefined && { prefix: config.tickets.prefix }) });
      // Same Redis and prefix as the tickets. Flushed after the gateway closes (closers run last
      // first) and before Redis disconnects, so sessions the stop ends still reach the stream.
      const stream = (auditStream = new RedisAuditStream(r, { ...(config.tickets.prefix !== undefined && { prefix: config.tickets.prefix }), log: glog }));
      closers.add('audit stream', () => stream.flush());
      // Same ordering reason: the ends of the sessions the stop closes reach Redis before it disconnects.
      const p = (presence = new PresenceWriter({ redis: r, ...(config.tickets.prefix !== undefined && { prefix: config.tickets.prefix }), log: glog }));
      closers.add('presence', () => p.stop());
    } else {
      tickets = new MemoryTicketStore();
    }

    let policies: PolicySource | undefined;
    if (config.policy.kind !== 'none') {
      const p = config.policy;
      const store: ResourceStore =
        p.kind === 'kube'
          ? new KubernetesStore({ ...(p.kubeconfig !== undefined && { kubeconfig: p.kubeconfig }), instance: hostname(), component: 'deskplane.io/gateway' })
          : new EmbeddedStore({ dir: p.dir, component: 'deskplane.io/gateway' });
      closers.add('resource store', () => store.close());
      const source = await StorePolicySource.start(store, { ...(p.namespace !== undefined && { namespace: p.namespace }), log: glog });
      closers.add('policy source', () => source.close());
      policies = source;
    }

    const metrics = new GatewayMetrics();
    // Up before the gateway and closed after it, so /readyz says 503 while starting and stopping.
    let metricsServer: MetricsServer | undefined;
    if (config.metricsListen) {
      const ready = (): Promise<Health> => {
        if (stopping) return Promise.resolve({ ok: false, reason: 'stopping' });
        if (!started) return Promise.resolve({ ok: false, reason: 'starting' });
        if (redis && redis.status !== 'ready') return Promise.resolve({ ok: false, reason: `ticket store (Redis) is ${redis.status}` });
        return Promise.resolve({ ok: true });
      };
      metricsServer = await startMetricsServer(config.metricsListen, metrics, { ready });
      closers.add('metrics', () => metricsServer?.close());
    }

    const caps = new CapsBook();
    const options: WiredOptions = {
      listen: { ...config.listen, ...(tls && { tls }) },
      ...(config.httpConnect && { httpConnect: { listen: config.httpConnect.listen, allowedTargets: config.httpConnect.allowedTargets, ...(connectTls && { tls: connectTls }) } }),
      ...(config.websocket && { websocket: { ...config.websocket, tls: wsTls } }),
      tickets,
      log: glog,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      failedTickets: config.failedTickets,
      ...(policies && { policies }),
      observer: metrics,
      caps,
    };
    const gw = await startGateway(options);
    closers.add('gateway', () => gw.close());
    metrics.readFrom(gw.sessions);
    // Never detached: sessions the stop closes still get their audit line.
    attachAudit(gw.sessions, glog);
    auditStream?.attach(gw.sessions);
    if (presence) {
      metrics.registry.registerMetric(presence.failures);
      presence.attach(gw.sessions);
      presence.start();
    }

    let admin: AdminServer | undefined;
    if (config.admin) {
      admin = await startAdminServer({
        listen: config.admin.listen,
        ...(config.admin.tls && { tls: config.admin.tls }),
        shutdownGraceMs: config.shutdownGraceMs,
        deps: {
          sessions: gw.sessions,
          tickets,
          ...(policies && { policies }),
          caps: new CapsProber(caps),
          migration: gw.migrations,
          log: glog,
          onCall: (method, code) => metrics.adminCalls.inc({ method, code }),
        },
      });
      closers.add('admin API', () => admin?.close());
    }

    started = true;
    log.info(
      {
        spicePort: gw.port, connectPort: gw.connectPort, websocketPort: gw.websocketPort, adminPort: admin?.port, adminTls: Boolean(config.admin?.tls),
        metricsUrl: metricsServer?.url, tickets: config.tickets.kind, policy: config.policy.kind,
      },
      'gateway started',
    );
    return async (signal) => {
      stopping = true;
      log.info({ signal, sessions: gw.sessions.size }, 'stopping');
      return closers.run(log);
    };
  } catch (err) {
    await closers.run(log);
    throw err;
  }
}

/** A front's certificate and key files as PEM contents; unreadable or mismatched → ConfigError naming the variable. */
function frontTls(pair: TlsPair | undefined, base: string): FrontTls | undefined {
  if (!pair) return undefined;
  const read = (suffix: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`DESKPLANE_GATEWAY_${base}_${suffix}`, `cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const front = { cert: read('CERT', pair.certFile), key: read('KEY', pair.keyFile) };
  try {
    frontContext(front);
  } catch (err) {
    throw new ConfigError(`DESKPLANE_GATEWAY_${base}_CERT`, `${pair.certFile} with ${pair.keyFile}: ${(err as Error).message}`);
  }
  return front;
}

/** Entry point: config → logger → run → SIGTERM/SIGINT → close everything → exit 0. */
async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`deskplane-gateway: bad configuration: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger({ level: config.logLevel });
  const stop = await run(config, log).catch((err: unknown) => {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`deskplane-gateway: bad configuration: ${err.message}\n`);
    process.exit(2);
  });
  const onSignal = (signal: string): void => {
    stop(signal).then(
      (clean) => process.exit(clean ? 0 : 1),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`deskplane-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
