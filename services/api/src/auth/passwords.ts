import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes for the built-in identity provider's users file:
 * `scrypt$<N>$<r>$<p>$<salt>$<hash>` (salt and hash base64). The cost parameters travel
 * with each hash, so raising them later leaves existing hashes verifiable.
 */

const DEFAULT = { N: 16_384, r: 8, p: 1 };
const KEY_LENGTH = 32;
// Bounds on what a hash string may ask for: the users file is configuration, but a typo
// there must not make one login allocate gigabytes.
const MAX_N = 1 << 20;
const MAX_RP = 64;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

function options(N: number, r: number, p: number): ScryptOptions {
  // Node refuses scrypt above maxmem (32 MiB by default); give it what these parameters need.
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string, cost: { N?: number; r?: number; p?: number } = {}): Promise<string> {
  const { N, r, p } = { ...DEFAULT, ...cost };
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, options(N, r, p));
  // Standard base64, as the local run's users-file writer uses and reads.
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** Undefined when `hash` is not one of ours (so a users-file check can name the user). */
export function parsePasswordHash(hash: string): ParsedHash | undefined {
  // Standard base64 (what we write) or base64url (hand-made hashes); Node decodes both alphabets.
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/_-]+={0,2})\$([A-Za-z0-9+/_-]+={0,2})$/.exec(hash);
  if (!m) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const powerOfTwo = N >= 2 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || r < 1 || r > MAX_RP || p < 1 || p > MAX_RP) return undefined;
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || key.length < 16) return undefined;
  return { N, r, p, salt, key };
}

/** True when `password` matches `hash`; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parsePasswordHash(hash);
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.key.length, options(parsed.N, parsed.r, parsed.p));
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/**
 * A valid hash of a random password, verified against when the username is unknown, so a
 * login for a user that does not exist takes as long as one with a wrong password.
 */
let dummy: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('base64url'));
  return dummy;
}
