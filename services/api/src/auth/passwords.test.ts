import { scrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from './passwords';

describe('password hashes', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('salts: the same password hashes differently each time, both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('pw', { N: 1024 }), hashPassword('pw', { N: 1024 })]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('pw', a)).toBe(true);
    expect(await verifyPassword('pw', b)).toBe(true);
  });

  it('keeps the cost in the hash, so other parameters still verify', async () => {
    const hash = await hashPassword('pw', { N: 2048, r: 4, p: 2 });
    expect(parsePasswordHash(hash)).toMatchObject({ N: 2048, r: 4, p: 2 });
    expect(await verifyPassword('pw', hash)).toBe(true);
  });

  it('reads salt and hash in base64url too (hand-made hashes)', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = await new Promise<Buffer>((res, rej) => scrypt('pw', salt, 32, { N: 1024, r: 8, p: 1 }, (e, k) => (e ? rej(e) : res(k))));
    const url = `scrypt$1024$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    expect(await verifyPassword('pw', url)).toBe(true);
    expect(await verifyPassword('other', url)).toBe(false);
  });

  it('refuses tampered and malformed hashes without throwing', async () => {
    const hash = await hashPassword('pw', { N: 1024 });
    const parts = hash.split('$');
    const flipped = [...parts.slice(0, 5), (parts[5]!.startsWith('A') ? 'B' : 'A') + parts[5]!.slice(1)].join('$');
    expect(await verifyPassword('pw', flipped)).toBe(false);
    for (const bad of ['', 'pw', 'bcrypt$10$abc', 'scrypt$1024$8$1$AA==$AA==', hash.replace('$1024$', '$1000$'), hash.replace('$1024$', `$${1 << 24}$`), hash.replace(/\$8\$/, '$0$')]) {
      expect(parsePasswordHash(bad), bad).toBeUndefined();
      expect(await verifyPassword('pw', bad)).toBe(false);
    }
  });
});
