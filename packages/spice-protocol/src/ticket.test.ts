import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENCRYPTED_TICKET_SIZE,
  LinkError,
  MAX_PASSWORD_BYTES,
  TICKET_PUBKEY_BYTES,
  decryptTicket,
  encryptTicket,
  generateTicketKeyPair,
  type TicketKeyPair,
} from './index';

let keys: TicketKeyPair;
beforeAll(async () => {
  keys = await generateTicketKeyPair();
});

describe('SPICE tickets', () => {
  it('the generated key is RSA-1024 SPKI DER of the size the link reply carries', () => {
    expect(keys.publicKeyDer.length).toBe(TICKET_PUBKEY_BYTES);
    expect(keys.privateKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
  });

  it.each(['hunter2', '', 'pässwörd-ünïcode', 'x'.repeat(MAX_PASSWORD_BYTES)])('round-trips %j', (password) => {
    const ticket = encryptTicket(password, keys.publicKeyDer);
    expect(ticket.length).toBe(ENCRYPTED_TICKET_SIZE);
    expect(decryptTicket(ticket, keys.privateKey).toString('utf8')).toBe(password);
  });

  it('OAEP is randomised: the same password never gives the same ticket twice', () => {
    expect(encryptTicket('same', keys.publicKeyDer)).not.toEqual(encryptTicket('same', keys.publicKeyDer));
  });

  it('puts a NUL after the password (what spice-server compares as a C string)', () => {
    const ticket = encryptTicket('abc', keys.publicKeyDer);
    // Decrypt by hand to see the raw plaintext, not the helper's trimmed view.
    const plain = privateDecrypt({ key: keys.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, ticket);
    expect(plain).toEqual(Buffer.from('abc\0', 'latin1'));
  });

  it('limits passwords to 60 bytes of UTF-8, not 60 characters', () => {
    expect(() => encryptTicket('x'.repeat(MAX_PASSWORD_BYTES + 1), keys.publicKeyDer)).toThrow(
      expect.objectContaining({ code: 'SPICE_PASSWORD_TOO_LONG', linkError: LinkError.PERMISSION_DENIED }),
    );
    expect(() => encryptTicket('é'.repeat(30), keys.publicKeyDer)).not.toThrow();
    expect(() => encryptTicket('é'.repeat(31), keys.publicKeyDer)).toThrow(/at most 60 bytes/);
  });

  it('refuses a password with an embedded NUL', () => {
    expect(() => encryptTicket('a\0b', keys.publicKeyDer)).toThrow(expect.objectContaining({ code: 'SPICE_BAD_ARGUMENT' }));
  });

  it('refuses a public key that is not RSA SPKI DER', () => {
    expect(() => encryptTicket('pw', Buffer.alloc(TICKET_PUBKEY_BYTES))).toThrow(
      expect.objectContaining({ code: 'SPICE_BAD_PUBLIC_KEY' }),
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(() => encryptTicket('pw', ec)).toThrow(expect.objectContaining({ code: 'SPICE_BAD_PUBLIC_KEY' }));
  });

  it('a ticket for another key, or garbage, is SPICE_BAD_TICKET (permission denied)', async () => {
    const other = await generateTicketKeyPair();
    const ticket = encryptTicket('hunter2', other.publicKeyDer);
    expect(() => decryptTicket(ticket, keys.privateKey)).toThrow(
      expect.objectContaining({ code: 'SPICE_BAD_TICKET', linkError: LinkError.PERMISSION_DENIED }),
    );
    expect(() => decryptTicket(Buffer.alloc(ENCRYPTED_TICKET_SIZE, 1), keys.privateKey)).toThrow(
      expect.objectContaining({ code: 'SPICE_BAD_TICKET' }),
    );
  });
});
