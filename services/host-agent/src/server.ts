import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import type { HostAgentConfig } from './config';
import { LibvirtDriver } from './driver/libvirt-driver';
import type { HostDriver } from './driver/types';
import { createLogger, driverLog, type Logger } from './log';
import { HostAgentMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { HostAgentService } from './service/host-agent-service';
import { agentVersion } from './version';

export interface RunningHostAgent {
  /** Address and port the gRPC server is bound to (port resolved when 0 was asked). */
  address: string;
  port: number;
  /** http://host:port of /metrics and /healthz; undefined when metrics are off. */
  metricsUrl?: string;
  service: HostAgentService;
  /** Stops taking calls, lets calls in flight finish (config.shutdownGraceMs), then cuts the rest and closes the driver. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  metrics?: HostAgentMetrics;
}

/**
 * Starts the host agent: the gRPC server (mutual TLS when config.tls is set), the metrics
 * endpoint, and the event recording. Builds a LibvirtDriver from the config unless a
 * driver is given.
 */
export async function startHostAgent(config: HostAgentConfig, driver?: HostDriver, opts: StartOptions = {}): Promise<RunningHostAgent> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const metrics = opts.metrics ?? new HostAgentMetrics();
  const credentials = serverCredentials(config);
  const ownDriver = !driver;
  const d =
    driver ??
    new LibvirtDriver({
      libvirtUri: config.libvirtUri,
      consoleAddress: config.consoleAddress,
      storageDir: config.storageDir,
      goldenImagesDir: config.goldenImagesDir,
      assumeSharedStorage: config.assumeSharedStorage,
      domainType: config.domainType,
      log: driverLog(log),
    });

  const service = new HostAgentService({
    driver: d,
    log,
    metrics,
    consoleAddress: config.consoleAddress,
    migrationUri: config.migrationUri,
    capacity: config.capacity,
    eventRetention: config.eventRetention,
    agentVersion: agentVersion(),
    hostName: config.hostName,
  });

  const server = new Server({ 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 10_000 });
  server.addService(hostAgent.HostAgentService, service.implementation());

  let metricsServer: MetricsServer | undefined;
  try {
    service.start();
    const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${config.listen.port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((err: unknown) => {
      throw new Error(`cannot listen on ${host}:${config.listen.port}: ${(err as Error).message}`);
    });
    if (config.metricsListen) {
      metricsServer = await startMetricsServer(config.metricsListen, metrics, {
        refresh: () => service.refreshMetrics(),
        health: () => service.health(),
      });
    }
    log.info({ address: config.listen.host, port, tls: Boolean(config.tls), metricsUrl: metricsServer?.url, libvirtUri: config.libvirtUri }, 'host agent listening');

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        service.stop();
        await shutdown(server, config.shutdownGraceMs);
        await metricsServer?.close();
        if (ownDriver) await d.close();
        log.info('host agent stopped');
      })());
    return { address: config.listen.host, port, metricsUrl: metricsServer?.url, service, close };
  } catch (err) {
    service.stop();
    server.forceShutdown();
    await metricsServer?.close();
    if (ownDriver) await d.close().catch(() => undefined);
    throw err;
  }
}

function serverCredentials(config: HostAgentConfig): ServerCredentials {
  if (!config.tls) return ServerCredentials.createInsecure();
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const { certFile, keyFile, clientCaFile } = config.tls;
  // true = require and verify a client certificate signed by the CA (mutual TLS).
  return ServerCredentials.createSsl(read('client CA', clientCaFile), [{ cert_chain: read('certificate', certFile), private_key: read('key', keyFile) }], true);
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
