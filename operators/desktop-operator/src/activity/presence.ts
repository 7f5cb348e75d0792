/**
 * Reading the gateway's presence records (gateway/src/presence.ts writes them; the key
 * layout is the contract, repeated here because the operator does not depend on the
 * gateway):
 *
 *   <prefix>:presence:<namespace>/<desktop>          ZSET  member = session, score = expiry (epoch ms)
 *   <prefix>:last-session-end:<namespace>/<desktop>  STRING epoch ms
 *   <prefix>:presence-heartbeat                      STRING epoch ms since when presence is written without a gap
 */

export const presenceKey = (prefix: string, desktop: string): string => `${prefix}:presence:${desktop}`;
export const lastSessionEndKey = (prefix: string, desktop: string): string => `${prefix}:last-session-end:${desktop}`;
export const presenceHeartbeatKey = (prefix: string): string => `${prefix}:presence-heartbeat`;

/** One desktop's console sessions, as the gateways last reported them. */
export interface Presence {
  /** Sessions whose entry has not expired. */
  open: number;
  /**
   * When the last session ended (epoch ms): the recorded end, or the expiry of an entry a
   * crashed gateway left behind, whichever is later. Undefined: no session in 30 days.
   */
  lastEndedAt?: number;
}

export interface PresenceSnapshot {
  /**
   * Since when (epoch ms) some gateway has been writing presence without a gap. Undefined:
   * no gateway writes presence now (none runs with Redis, or all are down), so the
   * absence of a session proves nothing.
   */
  watchingSince?: number;
  /** Every desktop asked about, by `namespace/name`. */
  desktops: Map<string, Presence>;
}

/** Where the activity task learns about sessions. */
export interface PresenceSource {
  read(desktops: readonly string[], now: number): Promise<PresenceSnapshot>;
}

/** What the reader needs of a Redis client: ioredis' pipeline from a command list. */
export interface PresenceRedis {
  pipeline(commands: (string | number)[][]): { exec(): Promise<[Error | null, unknown][] | null> };
}

const COMMANDS_PER_DESKTOP = 3;

/** Pure: the commands of one read: the heartbeat, then per desktop open count, latest expired entry, recorded end. */
export function presenceCommands(prefix: string, desktops: readonly string[], now: number): (string | number)[][] {
  const out: (string | number)[][] = [['get', presenceHeartbeatKey(prefix)]];
  for (const d of desktops) {
    const k = presenceKey(prefix, d);
    out.push(['zcount', k, `(${now}`, '+inf'], ['zrevrangebyscore', k, now, '-inf', 'WITHSCORES', 'LIMIT', 0, 1], ['get', lastSessionEndKey(prefix, d)]);
  }
  return out;
}

const epochMs = (v: unknown): number | undefined => {
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
};

/** Pure: the snapshot from the replies to presenceCommands (same order). Throws on a failed command. */
export function parsePresence(desktops: readonly string[], replies: readonly [Error | null, unknown][]): PresenceSnapshot {
  if (replies.length !== 1 + COMMANDS_PER_DESKTOP * desktops.length) throw new Error(`presence read: ${replies.length} replies for ${desktops.length} desktops`);
  const failed = replies.find(([e]) => e !== null)?.[0];
  if (failed) throw failed;
  const watchingSince = epochMs(replies[0]![1]);
  const map = new Map<string, Presence>();
  desktops.forEach((d, i) => {
    const base = 1 + i * COMMANDS_PER_DESKTOP;
    const open = Number(replies[base]![1]) || 0;
    const expired = replies[base + 1]![1];
    const expiredAt = Array.isArray(expired) ? epochMs(expired[1]) : undefined;
    const recorded = epochMs(replies[base + 2]![1]);
    const ends = [expiredAt, recorded].filter((n): n is number => n !== undefined);
    map.set(d, { open, ...(ends.length > 0 && { lastEndedAt: Math.max(...ends) }) });
  });
  return { ...(watchingSince !== undefined && { watchingSince }), desktops: map };
}

/**
 * Presence from the gateways' Redis: one pipelined round trip per pass, whatever the
 * number of desktops. A failed read rejects; the caller then treats presence as unknown.
 */
export class RedisPresenceReader implements PresenceSource {
  constructor(
    private readonly redis: PresenceRedis,
    /** The gateways' TICKET_PREFIX (the operator's gatewayPrefix). */
    readonly prefix = 'deskplane:gateway',
  ) {}

  async read(desktops: readonly string[], now: number): Promise<PresenceSnapshot> {
    const replies = await this.redis.pipeline(presenceCommands(this.prefix, desktops, now)).exec();
    if (replies === null) throw new Error('presence read: pipeline discarded');
    return parsePresence(desktops, replies);
  }
}
