import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway self-signed certificate (its own CA) and its key, PEM, with the files' paths. */
export interface TestCert {
  /** The subject as remote-viewer's host-subject spells it. */
  subject: string;
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
}

/**
 * Self-signed EC certificates for 127.0.0.1 / localhost made with the openssl CLI in a temp
 * dir: one per name, each its own CA, so trusting one does not trust the others.
 */
export function makeTestCerts(names: readonly string[]): { certs: Record<string, TestCert>; dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
  const certs: Record<string, TestCert> = {};
  for (const name of names) {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
        '-subj', `/O=Deskplane/CN=${name}.test`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '1'],
      { stdio: 'pipe' },
    );
    certs[name] = { subject: `O=Deskplane,CN=${name}.test`, cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
  }
  return { certs, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
