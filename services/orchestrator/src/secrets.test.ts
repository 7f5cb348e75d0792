import { EmbeddedStore } from '@deskplane/resource-store';
import { describe, expect, it } from 'vitest';
import { buildSecret, embeddedSecretStore, generatePassword, passwordOf, PASSWORD_LENGTH, SECRET_TYPE } from './secrets';

const vd = { namespace: 'team-a', name: 'alice-dev', uid: '0b6f3c1e-1111-4222-8333-444455556666' };

describe('console passwords', () => {
  it('are 32 URL-safe printable characters (within spice-server 59 bytes), different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(59);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
    expect(PASSWORD_LENGTH).toBe(32);
  });

  it('maps every byte value into the alphabet without bias', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const chars = generatePassword(() => all.subarray(0, 32)) + generatePassword(() => all.subarray(64, 96));
    expect(chars).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('the Secret is owned by the desktop, labelled, and carries the password base64 under "password"', () => {
    const s = buildSecret(vd, 'pw');
    expect(s.metadata).toMatchObject({ name: 'alice-dev-console', namespace: 'team-a', labels: { 'deskplane.io/desktop': 'alice-dev' } });
    expect(s.metadata.ownerReferences).toEqual([{ apiVersion: 'deskplane.io/v1alpha1', kind: 'VirtualDesktop', name: 'alice-dev', uid: vd.uid, controller: true }]);
    expect(s.data).toEqual({ password: Buffer.from('pw').toString('base64') });
    expect(passwordOf(s, vd.uid)).toBe('pw');
    expect(passwordOf(s, 'another-uid')).toBeUndefined();
  });
});

describe('embedded secret store', () => {
  it('generates once and reuses the password (a replayed job never rotates it)', async () => {
    const secrets = embeddedSecretStore(new EmbeddedStore());
    const first = await secrets.ensure(vd);
    expect(await secrets.ensure(vd)).toBe(first);
    expect(await secrets.get(vd)).toBe(first);
  });

  it('never hands a recreated desktop (new uid) the old one’s password, and deletes only its own', async () => {
    const store = new EmbeddedStore();
    const secrets = embeddedSecretStore(store);
    const old = await secrets.ensure(vd);
    const recreated = { ...vd, uid: '0b6f3c1e-9999-4222-8333-444455556666' };
    expect(await secrets.delete(recreated)).toBe(false);
    const fresh = await secrets.ensure(recreated);
    expect(fresh).not.toBe(old);
    expect(await secrets.get(vd)).toBeUndefined();
    expect(await secrets.delete(recreated)).toBe(true);
    expect((await store.client(SECRET_TYPE).list()).items).toEqual([]);
  });
});
