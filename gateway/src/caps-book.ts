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

/** The key a guest's SPICE server is known by: "host:port", host in lower case. */
export function upstreamKey(target: { host: string; port: number }): string {
  return `${target.host.toLowerCase()}:${target.port}`;
}

const copyCaps = (caps: ChannelCaps): ChannelCaps => ({ common: [...caps.common], channel: [...caps.channel] });

export interface CapsBookOptions {
  /** Upstreams remembered; the one learned longest ago is forgotten first. Default 10 000. */
  maxUpstreams?: number;
}

/**
 * What the gateway promises a client in its own link reply, per channel type, before the
 * ticket says which guest it leads to. Known per upstream ("host:port", from a probe or a
 * link reply) and fleet-wide (the latest learned anywhere: guests of one fleet run one
 * spice-server), seeded with measured values. A link whose session already names its
 * upstream (a secondary channel, a migration re-link) can use that upstream's own caps.
 * Towards the client AUTH_SASL is always cleared and AUTH_SELECTION always set, so the
 * client's auth-mechanism rule and ours agree.
 */
export class CapsBook {
  private readonly fleet = new Map<number, ChannelCaps>();
  private readonly upstreams = new Map<string, Map<number, ChannelCaps>>();
  private readonly maxUpstreams: number;

  constructor(opts: CapsBookOptions = {}) {
    this.maxUpstreams = opts.maxUpstreams ?? 10_000;
  }

  /** Caps seen in a link reply; with `upstream` (upstreamKey) they are also that guest's own. */
  learn(channelType: number, caps: ChannelCaps, upstream?: string): void {
    this.fleet.set(channelType, copyCaps(caps));
    if (upstream === undefined) return;
    let known = this.upstreams.get(upstream);
    if (known === undefined) {
      known = new Map();
      if (this.upstreams.size >= this.maxUpstreams) this.upstreams.delete(this.upstreams.keys().next().value!);
    } else {
      this.upstreams.delete(upstream); // re-inserted below: most recently learned last
    }
    this.upstreams.set(upstream, known);
    known.set(channelType, copyCaps(caps));
  }

  /** True if this upstream's own caps for the channel type are known. */
  knows(upstream: string, channelType: number): boolean {
    return this.upstreams.get(upstream)?.has(channelType) ?? false;
  }

  /** Drops what is known about one upstream (its guest was deleted or moved). */
  forget(upstream: string): void {
    this.upstreams.delete(upstream);
  }

  /** The caps to put in the link reply: the upstream's own when known, else fleet-wide, else seeded. */
  promised(channelType: number, upstream?: string): ChannelCaps {
    const known = (upstream !== undefined ? this.upstreams.get(upstream)?.get(channelType) : undefined) ?? this.fleet.get(channelType);
    const common = [...(known?.common ?? MEASURED_COMMON)];
    common[0] = (((common[0] ?? 0) | (1 << CommonCap.AUTH_SELECTION)) & ~(1 << CommonCap.AUTH_SASL)) >>> 0;
    return { common, channel: [...(known?.channel ?? MEASURED_SERVER_CAPS[channelType] ?? [])] };
  }
}
