import { parseConfig, startHostAgent, type HostAgentConfig, type RunningHostAgent } from '@deskplane/host-agent';
import type { TestbedHost, TestbedHosts } from '../../../../services/host-agent/test/support/testbed-hosts';

const GiB = 1024n ** 3n;

/**
 * A real host agent on one testbed host (gRPC on 127.0.0.1, any port), with a capacity
 * budget of 8 vCPUs, 16 GiB and 500 GiB so the scheduling numbers do not depend on the
 * machine the tests run on.
 */
export async function startTestAgent(tb: TestbedHosts, h: TestbedHost): Promise<RunningHostAgent> {
  const base = parseConfig({}, { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: h.host.address });
  const config: HostAgentConfig = {
    ...base,
    hostName: h.host.name,
    listen: { host: '127.0.0.1', port: 0 },
    metricsListen: undefined,
    libvirtUri: h.config.libvirtUri,
    migrationUri: h.config.libvirtUri,
    storageDir: tb.storageDir,
    goldenImagesDir: tb.goldenImagesDir,
    assumeSharedStorage: true,
    capacity: { ...base.capacity, override: { vcpus: 8, memoryBytes: 16n * GiB, diskBytes: 500n * GiB } },
    logLevel: 'error',
    shutdownGraceMs: 2_000,
  };
  return startHostAgent(config);
}
