/**
 * The Deskplane host agent as a library: the gRPC service over libvirt that runs on every
 * KVM host. `main.ts` is the thin executable around `startHostAgent`.
 *
 * @example
 * import { credentials } from '@grpc/grpc-js';
 * import { hostAgent } from '@deskplane/grpc-contracts';
 * import { parseConfig, startHostAgent } from '@deskplane/host-agent';
 *
 * const config = parseConfig({}, {
 *   DESKPLANE_HOST_AGENT_LISTEN: '127.0.0.1:0',
 *   DESKPLANE_HOST_AGENT_METRICS_LISTEN: 'off',
 *   DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: '127.0.0.1',
 *   DESKPLANE_HOST_AGENT_LIBVIRT_URI: 'qemu:///system',
 * });
 * const agent = await startHostAgent(config);
 * const client = new hostAgent.HostAgentClient(`127.0.0.1:${agent.port}`, credentials.createInsecure());
 * client.getHostInfo({}, (err, info) => {
 *   console.log(err ?? `${info.hostname}: ${info.capacity?.vcpus} vCPUs, images ${info.goldenImages.join(', ')}`);
 *   client.close();
 *   void agent.close();
 * });
 */
export { startHostAgent, type RunningHostAgent, type StartOptions } from './server';
export { loadConfig, parseConfig, parseSize, ConfigError, type HostAgentConfig, type ListenAddress, type TlsFiles } from './config';
export { createLogger, type Logger } from './log';
export { HostAgentMetrics, startMetricsServer } from './metrics';
export { HostAgentService, type HostAgentServiceOptions } from './service/host-agent-service';
export { EventLog, type Sequenced, type Subscription } from './service/event-log';
export { computeCapacity, computeAllocated, checkFits, DEFAULT_CAPACITY_POLICY, type CapacityPolicy, type Resources } from './service/capacity';
export * from './errors';
export { SimulatedDriver, SimulatedFabric, MEASURED_LATENCIES, ZERO_LATENCIES, type SimulatedDriverOptions, type SimulatedLatencies } from './driver/simulated-driver';
export type * from './driver/types';
