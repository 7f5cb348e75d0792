/**
 * gRPC contracts generated from `proto/` (never edit `gen/`; run `proto/generate.sh`).
 *
 * @example
 * import { credentials } from '@grpc/grpc-js';
 * import { hostAgent } from '@deskplane/grpc-contracts';
 * const client = new hostAgent.HostAgentClient('127.0.1.1:7443', credentials.createInsecure());
 * client.getHostInfo({}, (err, info) => console.log(err ?? info.hostname));
 */
export * as hostAgent from './gen/deskplane/hostagent/v1/host_agent';
export * as gatewayAdmin from './gen/deskplane/gateway/v1/admin';
