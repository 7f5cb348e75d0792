import { connect } from 'node:net';
import {
  ChannelType,
  CommonCap,
  LinkError,
  ServerLinkDecoder,
  capsToWords,
  encodeLinkMessage,
} from '@deskplane/spice-protocol';
import { upstreamKey, type CapsBook, type ChannelCaps } from './caps-book';

/** A guest's SPICE server. The password is not needed: the probe never authenticates. */
export interface ProbeTarget {
  host: string;
  port: number;
}

/** The channel types remote-viewer opens (notes/spice-gateway-facts.md). */
export const PROBED_CHANNEL_TYPES: readonly number[] = [
  ChannelType.MAIN,
  ChannelType.DISPLAY,
  ChannelType.INPUTS,
  ChannelType.CURSOR,
  ChannelType.PLAYBACK,
  ChannelType.RECORD,
  ChannelType.USBREDIR,
];

/** What a client offers; spice-server's reply does not depend on it. */
const PROBE_COMMON_CAPS = capsToWords([CommonCap.AUTH_SELECTION, CommonCap.MINI_HEADER]);

/**
 * One link up to the reply, then close. Undefined when the server has no such channel
 * (spice-server closes unconfigured types without a reply) or refuses it in the reply.
 * Closing before the ticket leaves spice-server with no channel client to tear down, which
 * is why this is safe even for display (closing a LINKED display channel early kills QEMU).
 */
function probeOne(target: ProbeTarget, channelType: number, timeoutMs: number): Promise<ChannelCaps | undefined> {
  const decoder = new ServerLinkDecoder();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let settled = false;
    const settle = (outcome: ChannelCaps | undefined | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const where = `caps probe ${target.host}:${target.port} channel ${channelType}`;
    const timer = setTimeout(() => settle(new Error(`${where}: no link reply within ${timeoutMs} ms`)), timeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () =>
      socket.write(encodeLinkMessage({ connectionId: 0, channelType, channelId: 0, commonCaps: PROBE_COMMON_CAPS, channelCaps: [] })),
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        const reply = decoder.feed(chunk).find((m) => m.kind === 'linkReply');
        if (reply === undefined) return;
        settle(reply.error === LinkError.OK ? { common: reply.commonCaps, channel: reply.channelCaps } : undefined);
      } catch (err) {
        settle(new Error(`${where}: ${(err as Error).message}`));
      }
    });
    socket.on('error', (err) => settle(new Error(`${where}: ${err.message}`)));
    socket.on('close', () => settle(undefined));
  });
}

/**
 * The link-reply caps of a guest's SPICE server per channel type, one link per type
 * (connection_id 0), each closed right after the reply, before any ticket. Types the
 * server does not offer are absent. Rejects when the server is unreachable, silent past
 * timeoutMs, or breaks the link protocol.
 */
export async function probeCaps(target: ProbeTarget, channelTypes: readonly number[], timeoutMs: number): Promise<Map<number, ChannelCaps>> {
  const results = await Promise.allSettled(channelTypes.map((t) => probeOne(target, t, timeoutMs)));
  const caps = new Map<number, ChannelCaps>();
  for (const [i, r] of results.entries()) {
    if (r.status === 'rejected') throw r.reason as Error;
    if (r.value !== undefined) caps.set(channelTypes[i]!, r.value);
  }
  return caps;
}

export interface CapsProberOptions {
  /** How long one probe's answer stands for its host:port. Default 10 minutes. */
  cacheMs?: number;
  /** Per probe link. Default 3 000. */
  timeoutMs?: number;
  /** Default PROBED_CHANNEL_TYPES. */
  channelTypes?: readonly number[];
  /** Injected clock for tests. Default Date.now. */
  now?: () => number;
}

/**
 * Probes each upstream once (per cacheMs) and feeds the CapsBook, so the gateway's link
 * reply matches a guest before its first client links — meant to run at ticket mint.
 * Concurrent callers for one host:port share one probe; a failed probe is not remembered.
 */
export class CapsProber {
  private readonly probedAt = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly cacheMs: number;
  private readonly timeoutMs: number;
  private readonly channelTypes: readonly number[];
  private readonly now: () => number;

  constructor(
    private readonly book: CapsBook,
    opts: CapsProberOptions = {},
  ) {
    this.cacheMs = opts.cacheMs ?? 10 * 60_000;
    this.timeoutMs = opts.timeoutMs ?? 3_000;
    this.channelTypes = opts.channelTypes ?? PROBED_CHANNEL_TYPES;
    this.now = opts.now ?? Date.now;
  }

  ensure(target: ProbeTarget): Promise<void> {
    const key = upstreamKey(target);
    const at = this.probedAt.get(key);
    if (at !== undefined && this.now() - at < this.cacheMs) return Promise.resolve();
    const running = this.inflight.get(key);
    if (running !== undefined) return running;
    const probe = this.probe(target, key).finally(() => this.inflight.delete(key));
    this.inflight.set(key, probe);
    return probe;
  }

  /** Makes the next ensure() probe this upstream again (its guest changed). */
  invalidate(target: ProbeTarget): void {
    this.probedAt.delete(upstreamKey(target));
  }

  private async probe(target: ProbeTarget, key: string): Promise<void> {
    const caps = await probeCaps(target, this.channelTypes, this.timeoutMs);
    // Every spice-server offers main; without it this is no SPICE server, and nothing is learned.
    if (this.channelTypes.includes(ChannelType.MAIN) && !caps.has(ChannelType.MAIN)) {
      throw new Error(`caps probe ${key}: no link reply on the main channel`);
    }
    for (const [type, c] of caps) this.book.learn(type, c, key);
    this.probedAt.delete(key); // re-inserted: the oldest probe is evicted first
    this.probedAt.set(key, this.now());
    if (this.probedAt.size > 10_000) this.probedAt.delete(this.probedAt.keys().next().value!);
  }
}
