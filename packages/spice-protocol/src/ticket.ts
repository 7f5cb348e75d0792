import { constants, createPublicKey, generateKeyPair, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { MAX_PASSWORD_BYTES, TICKET_PUBKEY_BYTES } from './constants';
import { SpiceLinkError } from './errors';

/** The SPICE ticket key is always RSA-1024: its SPKI DER is exactly 162 bytes. */
const TICKET_KEY_BITS = 1024;
const NUL = Buffer.from([0]);

// SPICE fixes OAEP with SHA-1 (OpenSSL's RSA_PKCS1_OAEP_PADDING default); the hash is
// not negotiable, so SHA-1 here is the protocol, not a choice.
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' } as const;

function passwordBytes(password: string | Buffer): Buffer {
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (bytes.length > MAX_PASSWORD_BYTES) {
    throw new SpiceLinkError(
      'SPICE_PASSWORD_TOO_LONG',
      `SPICE passwords are at most ${MAX_PASSWORD_BYTES} bytes (UTF-8), got ${bytes.length}`,
    );
  }
  // The server compares C strings: anything after an embedded NUL would be ignored.
  if (bytes.includes(0)) {
    throw new SpiceLinkError('SPICE_BAD_ARGUMENT', 'SPICE passwords cannot contain a NUL byte');
  }
  return bytes;
}

/**
 * The ticket a client sends: RSA-OAEP (SHA-1) of the password plus a trailing NUL,
 * under the server's public key from the link reply (SubjectPublicKeyInfo DER).
 * 128 bytes for the RSA-1024 key every SPICE server uses.
 */
export function encryptTicket(password: string | Buffer, spkiDer: Buffer): Buffer {
  const plain = Buffer.concat([passwordBytes(password), NUL]);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch (err) {
    throw new SpiceLinkError('SPICE_BAD_PUBLIC_KEY', `server public key is not SPKI DER: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new SpiceLinkError('SPICE_BAD_PUBLIC_KEY', `server public key is ${key.asymmetricKeyType}, expected rsa`);
  }
  return publicEncrypt({ key, ...OAEP }, plain);
}

/**
 * The password bytes inside a ticket (without the NUL), for a gateway holding the key
 * it advertised. Compare the result with crypto.timingSafeEqual, not ===.
 * Throws SPICE_BAD_TICKET (link error 7) when the ticket does not decrypt.
 */
export function decryptTicket(ticket: Buffer, privateKey: KeyObject): Buffer {
  let plain: Buffer;
  try {
    plain = privateDecrypt({ key: privateKey, ...OAEP }, ticket);
  } catch (err) {
    throw new SpiceLinkError('SPICE_BAD_TICKET', `ticket does not decrypt: ${(err as Error).message}`);
  }
  // Like the server, read up to the first NUL; a client that sent none gets it all.
  const end = plain.indexOf(0);
  return end === -1 ? plain : plain.subarray(0, end);
}

export interface TicketKeyPair {
  /** 162-byte SubjectPublicKeyInfo DER, ready for the link reply's pub_key field. */
  publicKeyDer: Buffer;
  privateKey: KeyObject;
}

/** A fresh RSA-1024 ticket key pair, as a SPICE server (or the gateway) advertises. */
export async function generateTicketKeyPair(): Promise<TicketKeyPair> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: TICKET_KEY_BITS,
    publicExponent: 0x10001,
  });
  const publicKeyDer = publicKey.export({ format: 'der', type: 'spki' });
  if (publicKeyDer.length !== TICKET_PUBKEY_BYTES) {
    throw new SpiceLinkError('SPICE_BAD_PUBLIC_KEY', `generated key is ${publicKeyDer.length} bytes of DER, expected ${TICKET_PUBKEY_BYTES}`);
  }
  return { publicKeyDer, privateKey };
}
