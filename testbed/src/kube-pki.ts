import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './process';

/** Files kube-apiserver needs for TLS, service-account tokens and static-token auth. */
export interface KubePki {
  caFile: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  tokenFile: string;
  adminToken: string;
}

/** The first IP of the service range: where the in-cluster `kubernetes` Service lives. */
export const SERVICE_CIDR = '10.0.0.0/24';
const KUBERNETES_SERVICE_IP = '10.0.0.1';
export const ADMIN_USER = 'deskplane-testbed-admin';

/**
 * Generates a fresh CA, serving certificate, service-account key pair and admin token in
 * `dir`. Fresh on every start: no stale SANs, and a token leaked from an old run is dead.
 * EC P-256 keys: generating them takes milliseconds, unlike RSA.
 */
export async function generatePki(dir: string): Promise<KubePki> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (f: string): string => join(dir, f);
  await ecKey(p('ca.key'));
  await openssl(['req', '-x509', '-new', '-key', p('ca.key'), '-sha256', '-days', '365',
    '-subj', '/CN=deskplane-testbed-ca', '-out', p('ca.crt')]);

  await ecKey(p('apiserver.key'));
  await openssl(['req', '-new', '-key', p('apiserver.key'), '-subj', '/CN=kube-apiserver', '-out', p('apiserver.csr')]);
  await writeFile(p('apiserver.ext'), serverExtensions());
  await openssl(['x509', '-req', '-in', p('apiserver.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
    '-CAcreateserial', '-sha256', '-days', '365', '-extfile', p('apiserver.ext'), '-out', p('apiserver.crt')]);

  await ecKey(p('sa.key'));
  await openssl(['pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);

  const adminToken = randomBytes(32).toString('hex');
  // Static token file format: token,user,uid,"group1,group2". system:masters is the
  // group the apiserver authorizes for everything, before RBAC is consulted.
  await writeFile(p('tokens.csv'), `${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, { mode: 0o600 });
  return {
    caFile: p('ca.crt'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    tokenFile: p('tokens.csv'),
    adminToken,
  };
}

async function ecKey(out: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out]);
  await chmod(out, 0o600);
}

function openssl(args: string[]): Promise<unknown> {
  return run('openssl', args, { timeoutMs: 30_000 });
}

function serverExtensions(): string {
  const names = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
  const sans = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1', `IP:${KUBERNETES_SERVICE_IP}`];
  return [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${sans.join(',')}`,
    '',
  ].join('\n');
}

/** Writes a self-contained kubeconfig (CA and token embedded) so it works from anywhere. */
export async function writeKubeconfig(file: string, server: string, caFile: string, token: string): Promise<void> {
  const caData = readFileSync(caFile).toString('base64');
  const text = `apiVersion: v1
kind: Config
clusters:
- name: deskplane-testbed
  cluster:
    server: ${server}
    certificate-authority-data: ${caData}
users:
- name: ${ADMIN_USER}
  user:
    token: ${token}
contexts:
- name: deskplane-testbed
  context:
    cluster: deskplane-testbed
    user: ${ADMIN_USER}
    namespace: default
current-context: deskplane-testbed
`;
  await writeFile(file, text, { mode: 0o600 });
}
