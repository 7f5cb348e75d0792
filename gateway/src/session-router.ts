import { ChannelType, LinkError } from '@deskplane/spice-protocol';
import type { GatewayLog } from './link-server';
import type { TicketRecord, TicketStore, UpstreamTarget } from './tickets';

/** Where one link goes, or why it is refused. */
export type LinkDecision =
  | { kind: 'refuse'; error: number; why: string }
  /** A main link starting a session (connection_id 0). `replaces`: the session a fallback migration left. */
  | { kind: 'new-session'; target: UpstreamTarget; replaces?: string }
  /** A link joining a live session: a secondary channel, or the main channel returning after a seamless migration. */
  | { kind: 'join'; session: string; target: UpstreamTarget; toDestination: boolean };

interface RoutedSession {
  key: string;
  ticketHash: string;
  sessionId: number;
  desktop: string;
  target: UpstreamTarget;
  /** Seamless migration in progress: the client's main link to the destination exists. */
  destMain: boolean;
  destAcked: boolean;
  /** Open channels by registry channel number: type and upstream ("host:port"). */
  channels: Map<number, { type: number; upstream: string }>;
  /** The source sent SWITCH_HOST: the client will come back as a new session. */
  switching: boolean;
  /** Can the client follow a migration? Browser clients (WebSocket) cannot: never wait for them. */
  follows: boolean;
}

interface PendingMigration {
  destination: UpstreamTarget;
  /** The source told a client SWITCH_HOST: the guest is on the destination now, new sessions go there. */
  switched: boolean;
  waiters: (() => void)[];
}

export interface MigrationReadiness {
  sessions: number;
  ready: number;
  timedOut: boolean;
}

/** spice-html5 has no migration support: holding a migration for these would only delay it. */
const BROWSER_TRANSPORTS = new Set(['websocket', 'wss']);

/** How long a ticket stays bound to a session that ended on SWITCH_HOST. */
export const SWITCH_GRACE_MS = 30_000;

const key = (t: UpstreamTarget): string => `${t.host}:${t.port}`;

/**
 * Which upstream each link goes to, and the migration hand-over. A desktop's sessions
 * normally go where its route (or the ticket) says. While the orchestrator migrates the
 * desktop (prepare … finish), a main link that comes back with the session's own id is the
 * seamless path: it and the session's later secondary links go to the destination; a new
 * session from a ticket whose session was told SWITCH_HOST is the fallback path and goes to
 * the destination too. prepare() resolves when every session of the desktop has its main
 * acknowledged and every channel type it had re-linked on the destination — the signal to
 * lift the migration's bandwidth cap.
 */
export class SessionRouter {
  private readonly sessions = new Map<string, RoutedSession>();
  private readonly byTicket = new Map<string, string>();
  private readonly migrations = new Map<string, PendingMigration>();
  /** Links waiting for a desktop's prepare(). */
  private readonly awaitingPrepare = new Map<string, Set<(m: PendingMigration) => void>>();
  /** Sessions that ended after SWITCH_HOST, by ticket: their client is about to come back. */
  private readonly lingering = new Map<string, RoutedSession>();

  constructor(private readonly deps: { tickets: TicketStore; log: GatewayLog }) {}

  /** waitMs: how long a seamless main re-link may wait for the orchestrator's prepare(). */
  async decide(record: TicketRecord, channelType: number, connectionId: number, waitMs = 0): Promise<LinkDecision> {
    const bound = this.byTicket.get(record.ticketHash);
    const s = bound !== undefined ? this.sessions.get(bound) : this.lingering.get(record.ticketHash);
    const pending = this.migrations.get(record.desktop);
    if (channelType === ChannelType.MAIN) {
      if (connectionId === 0) {
        const target = pending?.switched ? { ...pending.destination, password: s?.target.password ?? record.upstream.password } : await this.routeOf(record);
        if (s === undefined && record.sessionId === undefined) return { kind: 'new-session', target };
        // Fallback path: the old session was told SWITCH_HOST and comes back as a new one (its old main may linger).
        if (s?.switching) return { kind: 'new-session', target, replaces: s.key };
        return { kind: 'refuse', error: LinkError.PERMISSION_DENIED, why: 'ticket already bound to a live session' };
      }
      if (s === undefined || s.sessionId !== connectionId) return { kind: 'refuse', error: LinkError.PERMISSION_DENIED, why: 'not this ticket\'s session' };
      // QEMU tells the client to come over (MIGRATE_BEGIN_SEAMLESS) as soon as the migration
      // starts; the orchestrator's prepare() may land a moment later. Hold the link for it.
      const migration = pending ?? (await this.pendingFor(s.desktop, waitMs));
      if (!migration) return { kind: 'refuse', error: LinkError.PERMISSION_DENIED, why: 'main re-link with no migration in progress' };
      return { kind: 'join', session: s.key, target: { ...migration.destination, password: s.target.password }, toDestination: true };
    }
    if (s === undefined || s.sessionId !== connectionId) return { kind: 'refuse', error: LinkError.PERMISSION_DENIED, why: 'ticket not bound to this session' };
    if (s.destMain && pending) return { kind: 'join', session: s.key, target: { ...pending.destination, password: s.target.password }, toDestination: true };
    return { kind: 'join', session: s.key, target: s.target, toDestination: false };
  }

  /** A new session's MAIN_INIT arrived: bind (or, after a fallback, re-bind) the ticket. */
  async started(o: { key: string; record: TicketRecord; sessionId: number; target: UpstreamTarget; replaces?: string; transport?: string }): Promise<boolean> {
    const old = o.replaces === undefined ? undefined : (this.sessions.get(o.replaces) ?? this.lingering.get(o.record.ticketHash));
    const ok = old
      ? await this.deps.tickets.rebind(o.record.ticketHash, old.sessionId, o.sessionId)
      : await this.deps.tickets.bind(o.record.ticketHash, o.sessionId);
    if (!ok) return false;
    this.sessions.set(o.key, {
      key: o.key,
      ticketHash: o.record.ticketHash,
      sessionId: o.sessionId,
      desktop: o.record.desktop,
      target: o.target,
      destMain: false,
      destAcked: false,
      channels: new Map(),
      switching: false,
      follows: !BROWSER_TRANSPORTS.has(o.transport ?? ''),
    });
    this.byTicket.set(o.record.ticketHash, o.key);
    if (old) {
      // The old session's channels close by themselves; it no longer owns the ticket.
      this.sessions.delete(old.key);
      this.lingering.delete(o.record.ticketHash);
      this.deps.log('session.migrated', { session: o.key, replaced: old.key, desktop: o.record.desktop, path: 'fallback' });
    }
    return true;
  }

  channelOpened(sessionKey: string, channel: number, channelType: number, upstream: UpstreamTarget, toDestination: boolean): void {
    const s = this.sessions.get(sessionKey);
    if (!s) return;
    if (channelType === ChannelType.MAIN && toDestination) s.destMain = true;
    s.channels.set(channel, { type: channelType, upstream: key(upstream) });
    this.check(s.desktop);
  }

  channelClosed(sessionKey: string, channel: number): void {
    this.sessions.get(sessionKey)?.channels.delete(channel);
  }

  /** Main-channel messages that move the hand-over along. */
  mainEvent(sessionKey: string, event: 'switch-host' | 'dst-ack' | 'dst-nack'): void {
    const s = this.sessions.get(sessionKey);
    if (!s) return;
    if (event === 'switch-host') {
      s.switching = true;
      const pending = this.migrations.get(s.desktop);
      if (pending) pending.switched = true;
    }
    else if (event === 'dst-ack') s.destAcked = true;
    else s.destMain = false;
    this.deps.log('migration.main', { session: sessionKey, event, desktop: s.desktop });
    this.check(s.desktop);
  }

  /** The session ended (its last channel closed): free the ticket. */
  ended(sessionKey: string): void {
    const s = this.sessions.get(sessionKey);
    if (!s) return;
    this.sessions.delete(sessionKey);
    if (this.byTicket.get(s.ticketHash) === sessionKey) {
      this.byTicket.delete(s.ticketHash);
      if (s.switching) {
        // Told SWITCH_HOST, the client tears down before it reconnects: keep the ticket bound
        // (its TTL may be past) long enough for the new session to re-bind it.
        this.lingering.set(s.ticketHash, s);
        setTimeout(() => {
          if (this.lingering.get(s.ticketHash) !== s) return;
          this.lingering.delete(s.ticketHash);
          void this.deps.tickets.unbind(s.ticketHash, s.sessionId);
        }, SWITCH_GRACE_MS).unref();
      } else {
        void this.deps.tickets.unbind(s.ticketHash, s.sessionId);
      }
    }
    this.check(s.desktop);
  }

  /** The orchestrator starts moving the desktop; resolves when its sessions are ready on the destination. */
  prepare(r: { desktop: string; destination: UpstreamTarget; timeoutMs: number }): Promise<MigrationReadiness> {
    const pending: PendingMigration = { destination: { ...r.destination }, switched: false, waiters: [] };
    this.migrations.set(r.desktop, pending);
    this.deps.log('migration.prepare', { desktop: r.desktop, destination: key(r.destination), sessions: this.ofDesktop(r.desktop).length });
    for (const wake of this.awaitingPrepare.get(r.desktop) ?? []) wake(pending);
    this.awaitingPrepare.delete(r.desktop);
    return new Promise((resolve) => {
      const done = (timedOut: boolean): void => {
        clearTimeout(timer);
        const i = pending.waiters.indexOf(onReady);
        if (i >= 0) pending.waiters.splice(i, 1);
        resolve({ ...this.readiness(r.desktop), timedOut });
      };
      const onReady = (): void => done(false);
      const timer = setTimeout(() => done(true), r.timeoutMs);
      pending.waiters.push(onReady);
      this.check(r.desktop);
    });
  }

  /** The migration ended: on success the desktop's sessions and route now belong to the destination. */
  async finish(r: { desktop: string; succeeded: boolean }): Promise<void> {
    const pending = this.migrations.get(r.desktop);
    if (!pending) return;
    this.migrations.delete(r.desktop);
    for (const s of this.ofDesktop(r.desktop)) {
      if (r.succeeded && s.destMain) s.target = { ...pending.destination, password: s.target.password };
      s.destMain = false;
      s.destAcked = false;
    }
    for (const w of pending.waiters.splice(0)) w();
    if (r.succeeded) {
      const password = this.ofDesktop(r.desktop)[0]?.target.password ?? pending.destination.password;
      await this.deps.tickets.setRoute(r.desktop, { ...pending.destination, password });
    }
    this.deps.log('migration.finish', { desktop: r.desktop, succeeded: r.succeeded });
  }

  /** The upstream a session of this desktop is on now (for admin listings). */
  targetOf(sessionKey: string): UpstreamTarget | undefined {
    return this.sessions.get(sessionKey)?.target;
  }

  private async routeOf(record: TicketRecord): Promise<UpstreamTarget> {
    const route = await this.deps.tickets.route(record.desktop);
    return route ? { ...route, password: route.password || record.upstream.password } : record.upstream;
  }

  private pendingFor(desktop: string, waitMs: number): Promise<PendingMigration | undefined> {
    if (waitMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiters = this.awaitingPrepare.get(desktop) ?? new Set();
      this.awaitingPrepare.set(desktop, waiters);
      const wake = (m: PendingMigration | undefined): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.awaitingPrepare.get(desktop) === waiters) this.awaitingPrepare.delete(desktop);
        resolve(m);
      };
      const timer = setTimeout(() => wake(undefined), waitMs);
      waiters.add(wake);
    });
  }

  private ofDesktop(desktop: string): RoutedSession[] {
    return [...this.sessions.values()].filter((s) => s.desktop === desktop);
  }

  private isReady(s: RoutedSession, destination: UpstreamTarget): boolean {
    if (!s.follows) return true;
    if (!s.destMain || !s.destAcked) return false;
    const here = key(s.target);
    const there = key(destination);
    const relinked = new Set([...s.channels.values()].filter((c) => c.upstream === there).map((c) => c.type));
    for (const c of s.channels.values()) if (c.upstream === here && c.type !== ChannelType.MAIN && !relinked.has(c.type)) return false;
    return true;
  }

  private readiness(desktop: string): { sessions: number; ready: number } {
    const all = this.ofDesktop(desktop);
    const pending = this.migrations.get(desktop);
    return { sessions: all.length, ready: pending ? all.filter((s) => this.isReady(s, pending.destination)).length : 0 };
  }

  private check(desktop: string): void {
    const pending = this.migrations.get(desktop);
    if (!pending || pending.waiters.length === 0) return;
    const { sessions, ready } = this.readiness(desktop);
    if (ready === sessions) for (const w of [...pending.waiters]) w();
  }
}
