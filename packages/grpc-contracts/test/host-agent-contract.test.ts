import { credentials, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAgent } from '../src/index';

const { HostAgentClient, HostAgentService, GuestSpec, Hypervisor, GuestState } = hostAgent;

// A real grpc-js server speaking the generated service, to prove the generated client and
// server halves agree on the wire (not a stand-in for the host agent's behaviour).
describe('generated host agent contract', () => {
  let server: Server;
  let client: InstanceType<typeof HostAgentClient>;

  beforeAll(async () => {
    server = new Server();
    const impl: Partial<hostAgent.HostAgentServer> = {
      getHostInfo: (_call, cb) =>
        cb(null, hostAgent.HostInfo.fromPartial({
          hostname: 'h1',
          hypervisor: Hypervisor.HYPERVISOR_QEMU_TCG,
          libvirtVersion: '9.0.0',
          qemuVersion: '7.2.0',
          agentVersion: '0.1.0',
          consoleAddress: '127.0.1.1',
          capacity: { vcpus: 2, memoryBytes: 24n << 30n, diskBytes: 1n << 40n },
          guestCount: 0,
        })),
      getGuest: (call, cb) =>
        cb({ code: status.NOT_FOUND, details: `no guest for desktop ${call.request.desktopUid}` }, null),
    };
    server.addService(HostAgentService, impl as hostAgent.HostAgentServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    client = new HostAgentClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('round-trips a unary call with 64-bit sizes intact', async () => {
    const info = await new Promise<hostAgent.HostInfo>((resolve, reject) =>
      client.getHostInfo({}, (e, r) => (e ? reject(e) : resolve(r))),
    );
    expect(info.hypervisor).toBe(Hypervisor.HYPERVISOR_QEMU_TCG);
    expect(info.capacity?.memoryBytes).toBe(24n << 30n);
  });

  it('carries gRPC status codes and messages to the caller', async () => {
    const err = await new Promise<ServiceError>((resolve) =>
      client.getGuest({ desktopUid: 'd-1' }, (e) => resolve(e!)),
    );
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('no guest for desktop d-1');
  });

  it('encodes and decodes messages byte-exactly', () => {
    const spec = GuestSpec.fromPartial({ desktopUid: 'u', vcpus: 2, memoryBytes: 512n << 20n, spice: { password: 'x' } });
    const bytes = GuestSpec.encode(spec).finish();
    expect(GuestSpec.decode(bytes)).toEqual(spec);
    expect(GuestState.GUEST_STATE_RUNNING).toBe(2);
  });
});
