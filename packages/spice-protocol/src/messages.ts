/** Link-phase messages as the codec hands them out and takes them in. */

/** SpiceLinkMess: the first thing a client sends on every channel connection. */
export interface LinkMessage {
  /** 0 for a new session's main channel; the session id from MAIN_INIT otherwise. */
  connectionId: number;
  channelType: number;
  channelId: number;
  /** Bitmap words (see caps.ts), not capability numbers. */
  commonCaps: number[];
  channelCaps: number[];
  /** Minor version from the link header; defaults to 2 when encoding. */
  minorVersion?: number;
}

/** SpiceLinkReply: the server's answer; on error the key and caps are zero / empty. */
export interface LinkReply {
  error: number;
  /** 162-byte SubjectPublicKeyInfo DER of the server's ticket key. */
  publicKey: Buffer;
  commonCaps: number[];
  channelCaps: number[];
  minorVersion?: number;
}

export type ClientLinkMessage =
  | ({ kind: 'linkMessage' } & LinkMessage)
  | { kind: 'authMechanism'; mechanism: number }
  /** The RSA-OAEP ciphertext, 128 bytes; decrypt with decryptTicket(). */
  | { kind: 'ticket'; encrypted: Buffer };

export type ServerLinkMessage =
  | ({ kind: 'linkReply' } & LinkReply)
  /** 0 = OK; anything else is a LinkError code (7 = wrong password). */
  | { kind: 'linkResult'; result: number };
