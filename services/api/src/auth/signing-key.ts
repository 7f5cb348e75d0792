import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/**
 * The built-in identity provider's ES256 signing key: generated at first start and kept in
 * the data directory, so tokens issued before a restart stay valid after it.
 */

export const SIGNING_KEY_FILE = 'idp-signing-key.json';

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** The public half as published at /auth/jwks.json. */
  publicJwk: PublicJwk;
}

/** Thrown when the key file exists but is not a usable ES256 private key. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const file = join(dataDir, SIGNING_KEY_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SigningKeyError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  if (text !== undefined) return fromPrivateJwk(file, text);

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Written whole then renamed, so a crash mid-write never leaves half a key to trip the next start.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...jwk, kid, alg: 'ES256', use: 'sig' }), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return fromPrivateJwk(file, readFileSync(file, 'utf8'));
}

async function fromPrivateJwk(file: string, text: string): Promise<SigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new SigningKeyError(`${file}: is not JSON; delete it to have a new key generated (tokens issued with the old one stop working)`);
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') {
    throw new SigningKeyError(`${file}: is not an ES256 (EC P-256) private key`);
  }
  const privateKey = (await importJWK(jwk, 'ES256')) as CryptoKey;
  const kid = typeof jwk.kid === 'string' && jwk.kid ? jwk.kid : await calculateJwkThumbprint(jwk);
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new SigningKeyError(`${file}: the key has no public coordinates (x, y)`);
  return { kid, privateKey, publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' } };
}
