import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ChannelType } from '@deskplane/spice-protocol';
import { channelName } from './channel-names';

/** One spliced channel of a session, as the admin API and the audit line show it. */
export interface ChannelInfo {
  /** Gateway-local channel number, unique within the session. */
  id: number;
  channelType: number;
  channelId: number;
  /** host:port of the guest's SPICE server this channel runs to. */
  upstream: string;
  transport: string;
  openedAt: number;
  bytesToClient: number;
  bytesToGuest: number;
}

/** A SPICE session through the gateway: one main channel (two while migrating) and its secondaries. */
export interface SessionInfo {
  /** Gateway id of the session ("gs-…"): stable across migrations, what the admin API kills. */
  key: string;
  /** SPICE session id from MAIN_INIT (a fallback migration starts a new one). */
  sessionId: number;
  user: string;
  tenant: string;
  /** "namespace/name" of the VirtualDesktop. */
  desktop: string;
  /** Client address and transport of the main channel. */
  source: string;
  transport: string;
  openedAt: number;
  /** Last client → guest byte on an inputs channel (openedAt until then). */
  lastInputAt: number;
  /** host:port of the guest's SPICE server serving the session now. */
  upstream: string;
  /** Name of the DesktopPolicy in force ("" = none). */
  policy: string;
  migrating: boolean;
  seamlessMigrations: number;
  fallbackMigrations: number;
  channels: ChannelInfo[];
}

export interface SessionEnd {
  info: SessionInfo;
  endedAt: number;
  reason: string;
  /** Bytes of every channel the session ever had, closed ones included. */
  bytesToClient: number;
  bytesToGuest: number;
}

/** Monotonic byte totals per tenant and channel type (metrics; closed sessions included). */
export interface ByteTotal {
  tenant: string;
  channel: string;
  toClient: number;
  toGuest: number;
}

/** What the registry needs to end a channel: the link server's teardown for it. */
export type ChannelCloser = (reason: string) => void;

interface LiveChannel extends ChannelInfo {
  close: ChannelCloser;
  /** This channel's tenant × type totals (counted per chunk: looked up once). */
  total?: ByteTotal;
}

interface LiveSession extends Omit<SessionInfo, 'channels'> {
  channels: Map<number, LiveChannel>;
  nextChannel: number;
  closedBytesToClient: number;
  closedBytesToGuest: number;
  endReason?: string;
}

type Events = { opened: [SessionInfo]; closed: [SessionEnd] };

export interface OpenSession {
  sessionId: number;
  user: string;
  tenant: string;
  desktop: string;
  source: string;
  transport: string;
  upstream: string;
  policy: string;
}

/**
 * Every live session and its channels. The link server opens a session on a new main
 * channel, attaches every channel it splices and detaches it when it closes; the session
 * ends when its last channel is gone. The admin API, metrics, policy timers and the
 * migration router read and act through here.
 */
export class SessionRegistry extends EventEmitter<Events> {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly totals = new Map<string, ByteTotal>();
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    super();
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  open(o: OpenSession): string {
    const key = `gs-${randomBytes(6).toString('hex')}`;
    const t = this.now();
    const s: LiveSession = {
      ...o,
      key,
      openedAt: t,
      lastInputAt: t,
      migrating: false,
      seamlessMigrations: 0,
      fallbackMigrations: 0,
      channels: new Map(),
      nextChannel: 1,
      closedBytesToClient: 0,
      closedBytesToGuest: 0,
    };
    this.sessions.set(key, s);
    this.emit('opened', snapshot(s));
    return key;
  }

  /** Adds a spliced channel; returns its id for counting and detaching. */
  attach(key: string, ch: Omit<ChannelInfo, 'id' | 'openedAt' | 'bytesToClient' | 'bytesToGuest'>, close: ChannelCloser): number {
    const s = this.mustGet(key);
    const id = s.nextChannel++;
    s.channels.set(id, { ...ch, id, openedAt: this.now(), bytesToClient: 0, bytesToGuest: 0, close });
    return id;
  }

  /** Counts spliced bytes; client → guest bytes on inputs also mark the session active. */
  count(key: string, channel: number, toClient: number, toGuest: number): void {
    const s = this.sessions.get(key);
    const ch = s?.channels.get(channel);
    if (!s || !ch) return;
    ch.bytesToClient += toClient;
    ch.bytesToGuest += toGuest;
    const total = (ch.total ??= this.totalFor(s.tenant, channelName(ch.channelType)));
    total.toClient += toClient;
    total.toGuest += toGuest;
    if (toGuest > 0 && ch.channelType === ChannelType.INPUTS) s.lastInputAt = this.now();
  }

  /** A channel closed; the session ends with its last channel. */
  detach(key: string, channel: number, reason = 'client closed'): void {
    const s = this.sessions.get(key);
    const ch = s?.channels.get(channel);
    if (!s || !ch) return;
    s.channels.delete(channel);
    s.closedBytesToClient += ch.bytesToClient;
    s.closedBytesToGuest += ch.bytesToGuest;
    if (s.channels.size === 0) this.end(s, s.endReason ?? reason);
  }

  /** Updates what the migration router and policy layer change on a live session. */
  update(key: string, patch: Partial<Pick<SessionInfo, 'sessionId' | 'upstream' | 'migrating' | 'policy'>>): void {
    const s = this.sessions.get(key);
    if (s) Object.assign(s, patch);
  }

  recordMigration(key: string, path: 'seamless' | 'fallback'): void {
    const s = this.sessions.get(key);
    if (!s) return;
    if (path === 'seamless') s.seamlessMigrations++;
    else s.fallbackMigrations++;
  }

  /** Closes one channel of a session (a channel type the policy now denies). */
  closeChannel(key: string, channel: number, reason: string): void {
    this.sessions.get(key)?.channels.get(channel)?.close(reason);
  }

  /** Closes every channel of the session (each closer tears its channel down safely). */
  kill(key: string, reason: string): boolean {
    const s = this.sessions.get(key);
    if (!s) return false;
    s.endReason = reason;
    // A session that never got a channel (its start failed) ends here; others with their last channel.
    if (s.channels.size === 0) this.end(s, reason);
    for (const ch of [...s.channels.values()]) ch.close(reason);
    return true;
  }

  get(key: string): SessionInfo | undefined {
    const s = this.sessions.get(key);
    return s && snapshot(s);
  }

  list(filter: { tenant?: string; user?: string; desktop?: string } = {}): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const s of this.sessions.values()) {
      if (filter.tenant !== undefined && s.tenant !== filter.tenant) continue;
      if (filter.user !== undefined && s.user !== filter.user) continue;
      if (filter.desktop !== undefined && s.desktop !== filter.desktop) continue;
      out.push(snapshot(s));
    }
    return out;
  }

  /** Live sessions of one user of one tenant (the concurrency limit counts these). */
  countByUser(tenant: string, user: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.tenant === tenant && s.user === user) n++;
    return n;
  }

  byteTotals(): ByteTotal[] {
    return [...this.totals.values()].map((t) => ({ ...t }));
  }

  private totalFor(tenant: string, channel: string): ByteTotal {
    const key = `${tenant}\u0000${channel}`;
    let total = this.totals.get(key);
    if (!total) this.totals.set(key, (total = { tenant, channel, toClient: 0, toGuest: 0 }));
    return total;
  }

  private end(s: LiveSession, reason: string): void {
    this.sessions.delete(s.key);
    this.emit('closed', {
      info: snapshot(s),
      endedAt: this.now(),
      reason,
      bytesToClient: s.closedBytesToClient,
      bytesToGuest: s.closedBytesToGuest,
    });
  }

  private mustGet(key: string): LiveSession {
    const s = this.sessions.get(key);
    if (!s) throw new Error(`no session ${key}`);
    return s;
  }
}

function snapshot(s: LiveSession): SessionInfo {
  const { channels, nextChannel: _n, closedBytesToClient: _c, closedBytesToGuest: _g, endReason: _e, ...rest } = s;
  return { ...rest, channels: [...channels.values()].map(({ close: _close, total: _total, ...c }) => ({ ...c })) };
}
