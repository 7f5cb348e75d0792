import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDemoIdentity, hashPassword, randomPassword, verifyPassword, type IdpUsersFile } from './identity';

const b64 = (s: string | Buffer): string => Buffer.from(s as string).toString('base64');
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

describe('scrypt password hashes (scrypt$N$r$p$salt$hash)', () => {
  // RFC 7914 section 12: an independent known answer for the exact format the API verifies.
  const rfc1 = `scrypt$1024$8$16$${b64('NaCl')}$${b64(hex(`fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
    2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40`))}`;
  const rfc2 = `scrypt$16384$8$1$${b64('SodiumChloride')}$${b64(hex(`70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 5d a1 f2
    d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf 01 7b 45 57 58 87`))}`;

  it('verifies the RFC 7914 test vectors and nothing near them', async () => {
    expect(await verifyPassword('password', rfc1)).toBe(true);
    expect(await verifyPassword('pleaseletmein', rfc2)).toBe(true);
    expect(await verifyPassword('Password', rfc1)).toBe(false);
    expect(await verifyPassword('pleaseletmein', rfc2.replace('$16384$8$1$', '$16384$8$2$'))).toBe(false);
    const flipped = rfc2.slice(0, -3) + (rfc2.at(-3) === 'A' ? 'B' : 'A') + rfc2.slice(-2);
    expect(await verifyPassword('pleaseletmein', flipped)).toBe(false);
  });

  it('hashes with a random salt in the documented layout, and the hash verifies', async () => {
    const a = await hashPassword('hunter2 ünicode');
    const b = await hashPassword('hunter2 ünicode');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('hunter2 ünicode', a)).toBe(true);
    expect(await verifyPassword('hunter2 unicode', a)).toBe(false);
    // A given salt makes it deterministic; 32 bytes of scrypt output are the first 32 of the RFC's 64.
    const rfc1Key = Buffer.from(rfc1.split('$')[5]!, 'base64').subarray(0, 32);
    expect(await hashPassword('password', { N: 1024, r: 8, p: 16, salt: Buffer.from('NaCl') })).toBe(`scrypt$1024$8$16$${b64('NaCl')}$${rfc1Key.toString('base64')}`);
  });

  it('refuses malformed or abusive hashes without running scrypt on them', async () => {
    const ok = rfc2.split('$');
    const withPart = (i: number, v: string): string => ok.map((x, j) => (j === i ? v : x)).join('$');
    for (const bad of ['', 'scrypt', 'bcrypt$16384$8$1$AA==$AA==', withPart(1, '1000'), withPart(1, String(1 << 21)), withPart(1, '0x400'), withPart(2, '0'), withPart(2, '33'),
      withPart(3, '17'), withPart(4, '***'), withPart(5, 'AAAA'), `${rfc2}$extra`]) {
      const t0 = Date.now();
      expect(await verifyPassword('pleaseletmein', bad), bad).toBe(false);
      expect(Date.now() - t0).toBeLessThan(2_000);
    }
  });

  it('makes typeable random passwords', () => {
    const seen = new Set(Array.from({ length: 200 }, () => randomPassword()));
    expect(seen.size).toBe(200);
    for (const p of seen) expect(p).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{16}$/);
  });
});

describe('demo identity in the data dir', () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'local-identity-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const users = (file: string): IdpUsersFile => JSON.parse(readFileSync(file, 'utf8')) as IdpUsersFile;

  it('first start: three users with hashes of fresh passwords; the plain ones only in a 0600 file', async () => {
    const dir = fresh();
    const id = await ensureDemoIdentity(dir);
    expect(id.written).toEqual(['demo', 'demo-admin', 'ops']);
    const file = users(id.usersFile);
    expect(file.users.map((u) => [u.username, u.tenant, u.roles])).toEqual([
      ['demo', 'demo', ['user']],
      ['demo-admin', 'demo', ['user', 'tenant-admin']],
      ['ops', 'demo', ['platform-ops']],
    ]);
    for (const c of id.credentials) {
      const u = file.users.find((x) => x.username === c.username)!;
      expect(await verifyPassword(c.password, u.passwordHash)).toBe(true);
      expect(readFileSync(id.usersFile, 'utf8')).not.toContain(c.password);
    }
    expect(statSync(join(dir, 'identity', 'demo-credentials.json')).mode & 0o777).toBe(0o600);
    expect(statSync(id.usersFile).mode & 0o777).toBe(0o600);
  });

  it('second start: the same passwords, nothing rewritten; a broken entry is repaired, other users kept', async () => {
    const dir = fresh();
    const first = await ensureDemoIdentity(dir);
    const before = readFileSync(first.usersFile, 'utf8');
    const second = await ensureDemoIdentity(dir);
    expect(second.credentials).toEqual(first.credentials);
    expect(second.written).toEqual([]);
    expect(readFileSync(first.usersFile, 'utf8')).toBe(before);

    const file = users(first.usersFile);
    file.users[0]!.passwordHash = await hashPassword('not the demo password', { N: 1024 });
    file.users.push({ username: 'alice', passwordHash: 'scrypt$1024$8$1$AA==$AA==', tenant: 'acme', groups: [], roles: ['user'] });
    writeFileSync(first.usersFile, JSON.stringify(file));
    const third = await ensureDemoIdentity(dir);
    expect(third.written).toEqual(['demo']);
    const after = users(first.usersFile);
    expect(after.users.map((u) => u.username)).toEqual(['demo', 'demo-admin', 'ops', 'alice']);
    expect(await verifyPassword(first.credentials[0]!.password, after.users[0]!.passwordHash)).toBe(true);
  });

  it('a damaged users file stops the start naming the file, rather than being overwritten', async () => {
    const dir = fresh();
    const id = await ensureDemoIdentity(dir);
    writeFileSync(id.usersFile, '{"users": [');
    await expect(ensureDemoIdentity(dir)).rejects.toThrow(id.usersFile);
    expect(readFileSync(id.usersFile, 'utf8')).toBe('{"users": [');
  });
});
