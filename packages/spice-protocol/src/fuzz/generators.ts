import { AuthMechanism, ChannelType, MainClientMessage, MainServerMessage, TICKET_PUBKEY_BYTES } from '../constants';
import { encodeDisplayInit } from '../display-messages';
import { encodeAuthMechanism, encodeLinkMessage, encodeLinkReply, encodeLinkResult } from '../encode';
import {
  encodeChannelsList,
  encodeMainInit,
  encodeMigrateBegin,
  encodeMigrateBeginSeamless,
  encodeMigrateDstDoSeamless,
  type MainInit,
} from '../main-messages';
import { encodeMiniFrame } from '../mini-header';
import type { Prng } from './prng';

/** Well-formed inputs: the seeds that mutations start from. */

const CHANNEL_TYPES = Object.values(ChannelType);

export function capWords(rng: Prng, max = 3): number[] {
  return Array.from({ length: rng.below(max + 1) }, () => rng.u32());
}

/** A link message (header + SpiceLinkMess + caps), any channel, any caps. */
export function linkMessage(rng: Prng): Buffer {
  return encodeLinkMessage({
    connectionId: rng.chance(0.5) ? 0 : rng.u32(),
    channelType: rng.chance(0.9) ? rng.pick(CHANNEL_TYPES) : rng.below(256),
    channelId: rng.chance(0.8) ? 0 : rng.below(256),
    commonCaps: capWords(rng),
    channelCaps: capWords(rng),
    minorVersion: rng.chance(0.8) ? 2 : rng.u32(),
  });
}

/** Everything a client sends in the link phase: link message, maybe the mechanism, a ticket. */
export function clientLinkStream(rng: Prng): Buffer {
  const parts = [linkMessage(rng)];
  if (rng.chance(0.6)) parts.push(encodeAuthMechanism(rng.chance(0.9) ? AuthMechanism.SPICE : rng.pick([AuthMechanism.SASL, 0, rng.u32()])));
  parts.push(rng.bytes(128));
  if (rng.chance(0.3)) parts.push(rng.bytes(rng.between(1, 40))); // the next phase's first bytes
  return Buffer.concat(parts);
}

/** What a server sends: reply (OK or an error) then, if OK, the link result. */
export function serverLinkStream(rng: Prng): Buffer {
  const error = rng.chance(0.8) ? 0 : rng.between(1, 9);
  const parts = [
    encodeLinkReply({
      error,
      publicKey: error === 0 ? rng.bytes(TICKET_PUBKEY_BYTES) : Buffer.alloc(0),
      commonCaps: capWords(rng),
      channelCaps: capWords(rng),
    }),
  ];
  if (error === 0) parts.push(encodeLinkResult(rng.chance(0.8) ? 0 : rng.u32()));
  if (rng.chance(0.3)) parts.push(rng.bytes(rng.between(1, 40)));
  return Buffer.concat(parts);
}

export function mainInit(rng: Prng): MainInit {
  return {
    sessionId: rng.u32(),
    displayChannelsHint: rng.below(4),
    supportedMouseModes: rng.below(4),
    currentMouseMode: rng.below(4),
    agentConnected: rng.below(2),
    agentTokens: rng.u32(),
    multiMediaTime: rng.u32(),
    ramHint: rng.u32(),
  };
}

function hostName(rng: Prng): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789.-';
  return Array.from({ length: rng.between(1, 24) }, () => rng.pick([...chars])).join('');
}

function dstInfo(rng: Prng): { port: number; sport: number; host: string; certSubject: string | null } {
  return {
    port: rng.below(0x10000),
    sport: rng.below(0x10000),
    host: hostName(rng),
    certSubject: rng.chance(0.3) ? `CN=${hostName(rng)}` : null,
  };
}

/** A main-channel message body of the given type, well-formed where the codec knows its layout. */
export function mainBody(rng: Prng, type: number): Buffer {
  switch (type) {
    case MainServerMessage.INIT:
      return encodeMainInit(mainInit(rng));
    case MainServerMessage.CHANNELS_LIST:
      return encodeChannelsList(Array.from({ length: rng.below(8) }, () => ({ type: rng.below(12), id: rng.below(3) })));
    case MainServerMessage.MIGRATE_BEGIN:
    case MainServerMessage.MIGRATE_SWITCH_HOST:
      return encodeMigrateBegin(dstInfo(rng));
    case MainServerMessage.MIGRATE_BEGIN_SEAMLESS:
      return encodeMigrateBeginSeamless({ ...dstInfo(rng), srcMigVersion: rng.u32() });
    case MainClientMessage.MIGRATE_DST_DO_SEAMLESS:
      return encodeMigrateDstDoSeamless(rng.u32());
    default:
      return rng.bytes(rng.below(48));
  }
}

const FRAME_TYPES = [...new Set([...Object.values(MainServerMessage), ...Object.values(MainClientMessage), 1, 2, 3, 4, 5, 6, 7, 8])];

/** A stream of 1..6 mini frames with bodies that match their types. */
export function miniFrameStream(rng: Prng): Buffer {
  const frames = Array.from({ length: rng.between(1, 6) }, () => {
    const type = rng.chance(0.9) ? rng.pick(FRAME_TYPES) : rng.below(0x10000);
    return encodeMiniFrame(type, mainBody(rng, type));
  });
  return Buffer.concat(frames);
}

export function displayInitBody(rng: Prng): Buffer {
  return encodeDisplayInit({
    pixmapCacheId: rng.below(256),
    pixmapCacheSize: rng.chance(0.5) ? rng.u32() : -rng.u32(),
    glzDictionaryId: rng.below(256),
    glzDictionaryWindowSize: rng.u32() | 0,
  });
}
