/**
 * The demo users of the local run, written as the API's built-in identity provider reads
 * them: `<dataDir>/identity/users.json` = `{ users: [{ username, passwordHash, tenant,
 * groups, roles }] }`. Passwords are random at first start and kept (plain, mode 0600) in
 * `<dataDir>/identity/demo-credentials.json` so every start can print them; the users file
 * holds only scrypt hashes.
 *
 * Hash format (the API verifies exactly this): `scrypt$N$r$p$salt$hash`, N/r/p decimal,
 * salt and hash standard base64 (with padding), hash = scrypt(password UTF-8, salt bytes,
 * keylen = hash byte length, { N, r, p }).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_NAMESPACE, DEMO_USER } from './demo';

export type DemoRole = 'user' | 'tenant-admin' | 'platform-ops';

/** One entry of the built-in IdP's users file. */
export interface IdpUser {
  username: string;
  passwordHash: string;
  tenant: string;
  groups: string[];
  roles: DemoRole[];
}

export interface IdpUsersFile {
  users: IdpUser[];
}

/** 2^15 × 8 × 128 B = 32 MiB and ~0.1 s per hash: dear for a guesser, cheap enough for logins. */
export const SCRYPT_DEFAULTS = { N: 32_768, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;
// Bounds for hashes read from a file: a hand-edited N of 2^30 must not take the API down.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

function scrypt(password: string, salt: Buffer, keylen: number, o: { N: number; r: number; p: number }): Promise<Buffer> {
  // maxmem: Node's default (32 MiB) is exactly N=2^15, r=8 and refuses anything above it.
  const opts: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r };
  return new Promise((resolve, reject) => scryptCb(Buffer.from(password, 'utf8'), salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` of a password; salt random unless given (known-answer tests). */
export async function hashPassword(password: string, o: { N?: number; r?: number; p?: number; salt?: Buffer } = {}): Promise<string> {
  const N = o.N ?? SCRYPT_DEFAULTS.N;
  const r = o.r ?? SCRYPT_DEFAULTS.r;
  const p = o.p ?? SCRYPT_DEFAULTS.p;
  const salt = o.salt ?? randomBytes(SCRYPT_DEFAULTS.saltBytes);
  const key = await scrypt(password, salt, SCRYPT_DEFAULTS.keyBytes, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** True when the password matches; false for a wrong password AND for a malformed or out-of-bounds hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^[1-9]\d{0,9}$/.test(x) ? Number(x) : NaN)) as [number, number, number];
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return false;
  if (!B64.test(parts[4]!) || !B64.test(parts[5]!)) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  if (salt.length === 0 || want.length < 16) return false;
  const got = await scrypt(password, salt, want.length, { N, r, p });
  return timingSafeEqual(got, want);
}

/** The demo users: one tenant user, its tenant admin, and platform ops. */
export const DEMO_USERS: readonly Omit<IdpUser, 'passwordHash'>[] = [
  { username: DEMO_USER, tenant: DEMO_NAMESPACE, groups: ['demo-users'], roles: ['user'] },
  { username: 'demo-admin', tenant: DEMO_NAMESPACE, groups: ['demo-users', 'demo-admins'], roles: ['user', 'tenant-admin'] },
  // Platform ops acts across tenants; its own tenant only decides where desktops it creates for itself go.
  { username: 'ops', tenant: DEMO_NAMESPACE, groups: ['platform-ops'], roles: ['platform-ops'] },
];

export interface DemoIdentity {
  /** The built-in IdP's users file. */
  usersFile: string;
  /** username → password, for printing (the same on every start). */
  credentials: { username: string; password: string; roles: DemoRole[]; tenant: string }[];
  /** Users whose entry was (re)written on this start. */
  written: string[];
}

/** 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I): easy to type from the screen. */
export function randomPassword(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const out: string[] = [];
  // Rejection sampling keeps every symbol equally likely (57 does not divide 256).
  while (out.length < 16) for (const b of randomBytes(32)) if (b < 57 * 4 && out.length < 16) out.push(alphabet[b % 57]!);
  return out.join('');
}

function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); fix or remove it`);
  }
}

/** Write-then-rename, so a crash mid-write never leaves half a file for the next start. */
function writeFileAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/**
 * First start: random passwords, hashed into the users file. Later starts: the same
 * passwords; a demo user's entry is rewritten only when missing or no longer matching its
 * password. Users someone else added to the file are kept as they are.
 */
export async function ensureDemoIdentity(dataDir: string): Promise<DemoIdentity> {
  const dir = join(dataDir, 'identity');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const credsFile = join(dir, 'demo-credentials.json');
  const usersFile = join(dir, 'users.json');
  const creds = readJson<Record<string, string>>(credsFile) ?? {};
  let credsChanged = false;
  for (const u of DEMO_USERS) {
    if (typeof creds[u.username] !== 'string' || creds[u.username] === '') {
      creds[u.username] = randomPassword();
      credsChanged = true;
    }
  }
  if (credsChanged) writeFileAtomic(credsFile, JSON.stringify(creds, null, 2) + '\n', 0o600);

  const file = readJson<IdpUsersFile>(usersFile) ?? { users: [] };
  if (!Array.isArray(file.users)) throw new Error(`${usersFile}: "users" must be an array`);
  const written: string[] = [];
  for (const u of DEMO_USERS) {
    const password = creds[u.username]!;
    const i = file.users.findIndex((e) => e.username === u.username);
    const have = i >= 0 ? file.users[i] : undefined;
    const same = have && have.tenant === u.tenant && sameList(have.roles, u.roles) && sameList(have.groups, u.groups);
    if (same && typeof have.passwordHash === 'string' && (await verifyPassword(password, have.passwordHash))) continue;
    const entry: IdpUser = { ...u, groups: [...u.groups], roles: [...u.roles], passwordHash: await hashPassword(password) };
    if (i >= 0) file.users[i] = entry;
    else file.users.push(entry);
    written.push(u.username);
  }
  if (written.length > 0 || !existsSync(usersFile)) writeFileAtomic(usersFile, JSON.stringify(file, null, 2) + '\n', 0o600);
  return {
    usersFile,
    credentials: DEMO_USERS.map((u) => ({ username: u.username, password: creds[u.username]!, roles: [...u.roles], tenant: u.tenant })),
    written,
  };
}

const sameList = (a: unknown, b: readonly string[]): boolean => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
