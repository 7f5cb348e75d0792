import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { gatewayAdmin } from '@deskplane/grpc-contracts';
import type { ListenAddress, TlsFiles } from '../config';
import { adminImplementation } from './service';
import type { AdminDeps } from './types';

export interface AdminServerOptions {
  listen: ListenAddress;
  /** Mutual TLS: the server requires a client certificate signed by clientCaFile. */
  tls?: TlsFiles;
  deps: AdminDeps;
  /** How long close() lets calls in flight (a PrepareMigration waits) finish. Default 5 000. */
  shutdownGraceMs?: number;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

/** Reads the certificate files, naming the one that fails. */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the admin TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  // true: a client without a certificate from this CA is refused during the handshake.
  return ServerCredentials.createSsl(read('client CA', tls.clientCaFile), [{ cert_chain: read('certificate', tls.certFile), private_key: read('key', tls.keyFile) }], true);
}

/** The GatewayAdmin gRPC server. */
export async function startAdminServer(o: AdminServerOptions): Promise<AdminServer> {
  const credentials = serverCredentials(o.tls);
  const server = new Server({ 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 10_000 });
  server.addService(gatewayAdmin.GatewayAdminService, adminImplementation(o.deps));
  const host = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${o.listen.port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  ).catch((err: unknown) => {
    server.forceShutdown();
    throw new Error(`admin API cannot listen on ${host}:${o.listen.port}: ${(err as Error).message}`);
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, o.shutdownGraceMs ?? 5_000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    }));
  return { port, close };
}
