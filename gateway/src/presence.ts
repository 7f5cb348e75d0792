/**
 * Presence: which desktops have a console session open right now, written to Redis for
 * the operator (logout release of floating pool desktops, idle stop). Every replica
 * writes its own sessions; a crashed replica's entries expire by score, because nothing
 * here relies on a replica saying goodbye.
 *
 *   <prefix>:presence:<namespace>/<desktop>          ZSET  member = session key, score = expiry (epoch ms)
 *   <prefix>:last-session-end:<namespace>/<desktop>  STRING epoch ms of the last session end (30-day TTL)
 *   <prefix>:presence-heartbeat                      STRING epoch ms since when presence has been written
 *                                                    without a gap (TTL = entry TTL, refreshed by every replica)
 *
 * The heartbeat lets a reader tell "nobody connected" from "nobody is writing presence"
 * (a gateway without Redis, or every replica down): without it, acting on the absence of
 * sessions would stop desktops people are using.
 */
import { Counter } from 'prom-client';
import type { GatewayLog } from './link-server';
import type { SessionEnd, SessionInfo } from './sessions';

/** How often open sessions are re-announced, and how far ahead each announcement reaches. */
export const PRESENCE_REFRESH_MS = 15_000;
export const PRESENCE_TTL_MS = 45_000;
/** How long a desktop's last-session-end (and an orphaned presence set) is kept. */
export const LAST_SESSION_END_TTL_MS = 30 * 24 * 3600 * 1000;
export const DEFAULT_PRESENCE_PREFIX = 'deskplane:gateway';

export const presenceKey = (prefix: string, desktop: string): string => `${prefix}:presence:${desktop}`;
export const lastSessionEndKey = (prefix: string, desktop: string): string => `${prefix}:last-session-end:${desktop}`;
export const presenceHeartbeatKey = (prefix: string): string => `${prefix}:presence-heartbeat`;

export type RedisCommand = [name: string, ...args: (string | number)[]];

/** The part of a session presence needs: the registry's key and the desktop ("namespace/name"). */
export interface PresenceSession {
  key: string;
  desktop: string;
}

/** Pure: what announcing a session means in Redis. */
export function openCommands(prefix: string, s: PresenceSession, now: number, ttlMs = PRESENCE_TTL_MS): RedisCommand[] {
  const k = presenceKey(prefix, s.desktop);
  // The set itself expires too, so a desktop whose every writer crashed leaves nothing forever.
  return [['zadd', k, now + ttlMs, s.key], ['pexpire', k, LAST_SESSION_END_TTL_MS]];
}

/** Pure: what a session's end means in Redis. */
export function closeCommands(prefix: string, s: PresenceSession, endedAt: number): RedisCommand[] {
  return [
    ['zrem', presenceKey(prefix, s.desktop), s.key],
    ['set', lastSessionEndKey(prefix, s.desktop), endedAt, 'PX', LAST_SESSION_END_TTL_MS],
  ];
}

/**
 * Pure: one refresh. Re-adding (not ZADD XX) heals an announcement that failed while
 * Redis was away. The heartbeat keeps its first value (NX) while it lives: that is the
 * moment since which presence has been watched without a gap.
 */
export function refreshCommands(prefix: string, sessions: Iterable<PresenceSession>, now: number, ttlMs = PRESENCE_TTL_MS): RedisCommand[] {
  const hb = presenceHeartbeatKey(prefix);
  const out: RedisCommand[] = [['set', hb, now, 'PX', ttlMs, 'NX'], ['pexpire', hb, ttlMs]];
  for (const s of sessions) out.push(...openCommands(prefix, s, now, ttlMs));
  return out;
}

/** What the writer needs of a Redis client: ioredis' pipeline from a command list. */
export interface PresenceRedis {
  pipeline(commands: (string | number)[][]): { exec(): Promise<[Error | null, unknown][] | null> };
}

/** Anything that emits the registry's 'opened' and 'closed'. */
export interface PresenceEvents {
  on(event: 'opened', listener: (s: SessionInfo) => void): unknown;
  on(event: 'closed', listener: (end: SessionEnd) => void): unknown;
  off(event: 'opened', listener: (s: SessionInfo) => void): unknown;
  off(event: 'closed', listener: (end: SessionEnd) => void): unknown;
}

export interface PresenceWriterOptions {
  redis: PresenceRedis;
  /** The ticket store's prefix (TICKET_PREFIX); default `deskplane:gateway`. */
  prefix?: string;
  log?: GatewayLog;
  now?: () => number;
  refreshMs?: number;
  ttlMs?: number;
}

export type PresenceOp = 'open' | 'close' | 'refresh';

/**
 * Mirrors the session registry into Redis. Writes are fire-and-forget: a session never
 * waits for Redis, and a failed write is logged (`presence.write-failed`) and counted
 * (`deskplane_gateway_presence_write_failures_total`), then healed by the next refresh.
 * A refresh that is still waiting for a slow Redis is not doubled up by the next tick.
 */
export class PresenceWriter {
  readonly prefix: string;
  /** Not registered anywhere: the owner adds it to its metrics registry (registerMetric). */
  readonly failures = new Counter({
    name: 'deskplane_gateway_presence_write_failures_total',
    help: 'Presence writes to Redis that failed (open, close, refresh); sessions go on regardless.',
    labelNames: ['op'] as const,
    registers: [],
  });
  private readonly redis: PresenceRedis;
  private readonly log: GatewayLog;
  private readonly now: () => number;
  private readonly refreshMs: number;
  private readonly ttlMs: number;
  private readonly open = new Map<string, PresenceSession>();
  private readonly pending = new Set<Promise<void>>();
  private refreshing = false;
  private timer?: NodeJS.Timeout;

  constructor(opts: PresenceWriterOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? DEFAULT_PRESENCE_PREFIX;
    this.log = opts.log ?? (() => undefined);
    this.now = opts.now ?? Date.now;
    this.refreshMs = opts.refreshMs ?? PRESENCE_REFRESH_MS;
    this.ttlMs = opts.ttlMs ?? PRESENCE_TTL_MS;
    if (this.refreshMs >= this.ttlMs) throw new Error(`presence refresh (${this.refreshMs} ms) must come before entries expire (${this.ttlMs} ms)`);
  }

  /** Sessions this writer is announcing, by registry key. */
  get sessions(): ReadonlyMap<string, PresenceSession> {
    return this.open;
  }

  /** Follows the registry from now on; returns the function that stops following. */
  attach(events: PresenceEvents): () => void {
    const onOpened = (s: SessionInfo): void => this.opened({ key: s.key, desktop: s.desktop });
    const onClosed = (end: SessionEnd): void => this.closed({ key: end.info.key, desktop: end.info.desktop }, end.endedAt);
    events.on('opened', onOpened);
    events.on('closed', onClosed);
    return () => {
      events.off('opened', onOpened);
      events.off('closed', onClosed);
    };
  }

  opened(s: PresenceSession): void {
    this.open.set(s.key, s);
    void this.send('open', openCommands(this.prefix, s, this.now(), this.ttlMs), s.desktop);
  }

  closed(s: PresenceSession, endedAt = this.now()): void {
    this.open.delete(s.key);
    void this.send('close', closeCommands(this.prefix, s, endedAt), s.desktop);
  }

  /** Writes the heartbeat now and refreshes every refreshMs until stop(). */
  start(): void {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** One refresh; resolves false when skipped because the previous one is still out. */
  async refresh(): Promise<boolean> {
    if (this.refreshing) return false;
    this.refreshing = true;
    try {
      await this.send('refresh', refreshCommands(this.prefix, this.open.values(), this.now(), this.ttlMs));
      return true;
    } finally {
      this.refreshing = false;
    }
  }

  /** Stops refreshing and waits for writes already issued (call before closing Redis). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private send(op: PresenceOp, commands: RedisCommand[], desktop?: string): Promise<void> {
    const fail = (err: unknown): void => {
      this.failures.inc({ op });
      this.log('presence.write-failed', { op, ...(desktop !== undefined && { desktop }), error: err instanceof Error ? err.message : String(err) });
    };
    let p: Promise<void>;
    try {
      p = this.redis
        .pipeline(commands)
        .exec()
        .then((results) => {
          const err = results === null ? new Error('pipeline discarded') : results.find(([e]) => e !== null)?.[0];
          if (err) fail(err);
        }, fail);
    } catch (err) {
      fail(err);
      return Promise.resolve();
    }
    const tracked = p.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return tracked;
  }
}
