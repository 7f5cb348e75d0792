import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { hostAgent } from '@deskplane/grpc-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, grpcError, startAgent, stopAgent, type AgentUnderTest } from './support/agents';
import { testbedHosts, type TestbedHosts } from './support/testbed-hosts';

// Mutual TLS: with TLS configured the agent requires a client certificate signed by the
// configured CA. Certificates are made with the openssl CLI in a temp dir.

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and a certificate signed by it with the given extensions. */
function makePki(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'rogue-ca']) openssl(dir, ['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', `/CN=${ca}`, '-days', '1']);
  const sign = (name: string, ca: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`]);
  };
  sign('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  sign('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  sign('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
}

// Dial 127.0.0.1 but verify the certificate's DNS name (TLS SNI must not be an IP address).
const TARGET = { 'grpc.ssl_target_name_override': 'localhost' };

describe('host agent e2e: mutual TLS', () => {
  let tb: TestbedHosts;
  let a: AgentUnderTest;
  const dir = mkdtempSync(join(tmpdir(), 'host-agent-mtls-'));
  const file = (name: string): Buffer => readFileSync(join(dir, name));

  beforeAll(async () => {
    makePki(dir);
    tb = testbedHosts();
    a = await startAgent(
      tb,
      tb.hosts[0]!,
      { tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), clientCaFile: join(dir, 'ca.crt') } },
      credentials.createSsl(file('ca.crt'), file('client.key'), file('client.crt')),
      TARGET,
    );
  });

  afterAll(async () => {
    await stopAgent(a);
    await tb?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (creds: ReturnType<typeof credentials.createSsl>) => new hostAgent.HostAgentClient(`127.0.0.1:${a.agent.port}`, creds, TARGET);

  it('a client with a certificate signed by the CA is served', async () => {
    const info = await call<hostAgent.HostInfo>(cb => a.client.getHostInfo({}, cb));
    expect(info.consoleAddress).toBe(a.host.address);
  });

  it('a client without a certificate is refused', async () => {
    const c = client(credentials.createSsl(file('ca.crt')));
    try {
      const err = await grpcError(call(cb => c.getHostInfo({}, new Metadata(), { deadline: Date.now() + 5_000 }, cb)));
      expect(err.code).toBe(status.UNAVAILABLE);
    } finally {
      c.close();
    }
  });

  it('a client whose certificate another CA signed is refused', async () => {
    const c = client(credentials.createSsl(file('ca.crt'), file('rogue-client.key'), file('rogue-client.crt')));
    try {
      const err = await grpcError(call(cb => c.getHostInfo({}, new Metadata(), { deadline: Date.now() + 5_000 }, cb)));
      expect(err.code).toBe(status.UNAVAILABLE);
    } finally {
      c.close();
    }
  });

  it('a plaintext client is refused', async () => {
    const c = new hostAgent.HostAgentClient(`127.0.0.1:${a.agent.port}`, credentials.createInsecure());
    try {
      const err = await grpcError(call(cb => c.getHostInfo({}, new Metadata(), { deadline: Date.now() + 5_000 }, cb)));
      expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(err.code);
    } finally {
      c.close();
    }
  });
});
