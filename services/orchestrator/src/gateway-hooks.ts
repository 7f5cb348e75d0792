/**
 * MigrationHooks backed by the SPICE gateway's admin gRPC API: the migration starts under
 * a low bandwidth cap, PrepareMigration returns when every client of the desktop follows the
 * guest to the destination (or the gateway's wait times out), then the cap is lifted;
 * FinishMigration settles the gateway's route. See notes/spice-gateway-facts.md, "the race".
 */
import { gatewayAdmin } from '@deskplane/grpc-contracts';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { channelCredentials, type AgentTlsConfig } from './agents';
import type { MigrationHooks } from './processors/context';

export interface GatewayHooksConfig {
  /** host:port of the gateway's admin API. */
  adminAddress: string;
  /** What clients are told to reconnect to: spice://<public gateway host>:<port>. */
  graphicsUri: string;
  holdBandwidthMiBps: number;
  /** How long the gateway waits for clients before the cap is lifted anyway. */
  readyTimeoutMs: number;
  tls?: AgentTlsConfig;
  deadlineMs?: number;
}

export interface GatewayHooks extends MigrationHooks {
  close(): void;
}

export function gatewayMigrationHooks(c: GatewayHooksConfig): GatewayHooks {
  const client = new gatewayAdmin.GatewayAdminClient(c.adminAddress, channelCredentials(c.tls));
  const deadline = (extraMs = 0): { deadline: Date } => ({ deadline: new Date(Date.now() + (c.deadlineMs ?? 10_000) + extraMs) });
  const desktopKey = (m: { namespace: string; desktop: string }): string => `${m.namespace}/${m.desktop}`;
  return {
    graphicsUri: c.graphicsUri,
    holdBandwidthMiBps: c.holdBandwidthMiBps,
    beforeLiftingCap: (m) =>
      new Promise<void>((resolve, reject) => {
        const req = { desktop: desktopKey(m), destination: { host: m.destination.address, port: m.destination.port, password: '' }, timeoutMs: c.readyTimeoutMs };
        client.prepareMigration(req, new Metadata(), deadline(c.readyTimeoutMs), (err: ServiceError | null) => (err ? reject(err) : resolve()));
      }),
    afterMigration: (m) =>
      new Promise<void>((resolve, reject) => {
        client.finishMigration({ desktop: desktopKey(m), succeeded: m.succeeded }, new Metadata(), deadline(), (err: ServiceError | null) => (err ? reject(err) : resolve()));
      }),
    close: () => client.close(),
  };
}
