import { ChannelType, CommonCap, capsToWords } from '@deskplane/spice-protocol';

export interface ChannelCaps {
  common: number[];
  channel: number[];
}

/**
 * spice-server 0.15.1's link-reply capabilities, as measured (notes/spice-gateway-facts.md):
 * used until the gateway has learned a guest's real ones.
 */
const MEASURED_SERVER_CAPS: Record<number, number[]> = {
  [ChannelType.MAIN]: [0xf],
  [ChannelType.DISPLAY]: [0x1052],
  [ChannelType.INPUTS]: [0x1],
  [ChannelType.CURSOR]: [],
  [ChannelType.PLAYBACK]: [0xa],
  [ChannelType.RECORD]: [0x6],
  [ChannelType.USBREDIR]: [0x1],
};
const MEASURED_COMMON = capsToWords([CommonCap.AUTH_SELECTION, CommonCap.AUTH_SPICE, CommonCap.MINI_HEADER]);

/** Bitwise AND of two bitmap-word arrays; the result is as long as the shorter one. */
export function andWords(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.min(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((a[i]! & b[i]!) >>> 0);
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
}

/** True if every bit of `sub` is also set in `sup`. */
export function isSubset(sub: readonly number[], sup: readonly number[]): boolean {
  return sub.every((w, i) => ((w & ~(sup[i] ?? 0)) >>> 0) === 0);
}

/**
 * What the gateway promises a client in its own link reply, per channel type, before it
 * knows which guest the ticket leads to. Learned from every upstream link reply (the
 * latest wins; guests of one fleet run one spice-server), seeded with measured values.
 * Towards the client AUTH_SASL is always cleared and AUTH_SELECTION always set, so the
 * client's auth-mechanism rule and ours agree.
 */
export class CapsBook {
  private readonly learned = new Map<number, ChannelCaps>();

  learn(channelType: number, caps: ChannelCaps): void {
    this.learned.set(channelType, { common: [...caps.common], channel: [...caps.channel] });
  }

  /** The caps to put in the link reply for this channel type. */
  promised(channelType: number): ChannelCaps {
    const known = this.learned.get(channelType);
    const common = [...(known?.common ?? MEASURED_COMMON)];
    common[0] = (((common[0] ?? 0) | (1 << CommonCap.AUTH_SELECTION)) & ~(1 << CommonCap.AUTH_SASL)) >>> 0;
    return { common, channel: [...(known?.channel ?? MEASURED_SERVER_CAPS[channelType] ?? [])] };
  }
}
