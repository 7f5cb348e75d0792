/**
 * The heartbeat: one GetHostInfo call to a host's agent, behind a small interface so the
 * decide function and its tests never need gRPC.
 */
import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import type { AgentTlsConfig } from '../../config';
import { AgentUnreachableError } from '../../errors';

/** What the agent reported, in plain numbers. */
export interface AgentHostInfo {
  hostname: string;
  hypervisor: 'kvm' | 'qemu';
  libvirtVersion: string;
  qemuVersion: string;
  agentVersion: string;
  /** What the host can give guests (the agent's own overcommit and reserve applied). */
  capacity: { vcpus: number; memoryBytes: number; diskBytes: number };
  allocated: { vcpus: number; memoryBytes: number; diskBytes: number };
  guestCount: number;
}

export interface HostAgentProbe {
  /** Resolves with the host's info, or rejects with AgentUnreachableError. */
  getHostInfo(endpoint: string, deadlineMs: number): Promise<AgentHostInfo>;
  close(): void;
}

const res = (r: hostAgent.Resources | undefined) => ({
  vcpus: r?.vcpus ?? 0,
  memoryBytes: Number(r?.memoryBytes ?? 0n),
  diskBytes: Number(r?.diskBytes ?? 0n),
});

/** Generated gRPC client per endpoint; TLS (mutual when a client pair is set) or insecure. */
export class GrpcHostAgentProbe implements HostAgentProbe {
  private readonly clients = new Map<string, hostAgent.HostAgentClient>();
  private readonly creds: ChannelCredentials;

  constructor(tls?: AgentTlsConfig) {
    this.creds = tls
      ? credentials.createSsl(
          readFileSync(tls.caFile),
          tls.keyFile ? readFileSync(tls.keyFile) : null,
          tls.certFile ? readFileSync(tls.certFile) : null,
        )
      : credentials.createInsecure();
  }

  getHostInfo(endpoint: string, deadlineMs: number): Promise<AgentHostInfo> {
    let client = this.clients.get(endpoint);
    if (!client) this.clients.set(endpoint, (client = new hostAgent.HostAgentClient(endpoint, this.creds)));
    return new Promise((resolve, reject) => {
      client.getHostInfo({}, new Metadata(), { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, info) => {
        if (err) return reject(new AgentUnreachableError(endpoint, err.details || err.message, err.code));
        resolve({
          hostname: info.hostname,
          hypervisor: info.hypervisor === hostAgent.Hypervisor.HYPERVISOR_KVM ? 'kvm' : 'qemu',
          libvirtVersion: info.libvirtVersion,
          qemuVersion: info.qemuVersion,
          agentVersion: info.agentVersion,
          capacity: res(info.capacity),
          allocated: res(info.allocated),
          guestCount: info.guestCount,
        });
      });
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
