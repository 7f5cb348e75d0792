import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Metadata, status, type handleServerStreamingCall, type handleUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { hostAgent } from '@deskplane/grpc-contracts';
import type { DomainEvent, EventSubscription, GuestInfo, HostDriver, NodeInfo } from '../driver/types';
import { AbortedError, FailedPreconditionError, HostAgentError, OutOfRangeError } from '../errors';
import { requestIdFrom, type Logger } from '../log';
import type { HostAgentMetrics } from '../metrics';
import { checkFits, computeAllocated, computeCapacity, type CapacityPolicy, type Demand } from './capacity';
import { EventLog, type Subscription } from './event-log';
import { KeyedMutex } from './keyed-mutex';
import { countStates, toGuest, toGuestEvent, toHypervisor, toProgress, toResources } from './proto-map';
import * as v from './validate';

export interface HostAgentServiceOptions {
  driver: HostDriver;
  log: Logger;
  metrics: HostAgentMetrics;
  consoleAddress: string;
  migrationUri: string;
  capacity: CapacityPolicy;
  eventRetention: number;
  agentVersion: string;
  /** Name used in messages; default the node's hostname. */
  hostName?: string;
}

interface RpcContext {
  requestId: string;
  /** Values that must never leave in an error message or a log line. */
  secrets: string[];
}

/** How long node facts (CPUs, memory, versions) are reused between calls. */
const NODE_INFO_TTL_MS = 5_000;
const HEALTH_TIMEOUT_MS = 5_000;

/**
 * The HostAgent gRPC service over a HostDriver: validate → (per-guest lock) → driver →
 * proto. Calls for one desktop uid run one at a time; calls for different guests run
 * concurrently. Errors of the agent's taxonomy go out with their gRPC code and message;
 * anything else is INTERNAL with the request id, its detail only in the log.
 */
export class HostAgentService {
  readonly events: EventLog<DomainEvent>;
  /** Names this process's event log: sequences from another epoch mean nothing here. */
  readonly epoch = randomUUID();
  private readonly guestLock = new KeyedMutex();
  /**
   * Guests being (or just) created: counted as allocated until a listing that STARTED after
   * their creation ended shows them, so a concurrent EnsureGuest never works from a stale
   * list. `listedFrom`: the first listing number that will include the guest.
   */
  private readonly pending = new Map<string, Demand & { listedFrom?: number }>();
  private listings = 0;
  private readonly migrating = new Map<string, { destination: string; since: Date }>();
  private readonly watchers = new Set<ServerWritableStream<hostAgent.WatchEventsRequest, hostAgent.GuestEvent>>();
  private driverEvents: EventSubscription | undefined;
  private nodeCache: { at: number; info: Promise<NodeInfo> } | undefined;

  constructor(private readonly o: HostAgentServiceOptions) {
    this.events = new EventLog(o.eventRetention);
  }

  /** Starts recording the driver's lifecycle events. Call once, before serving. */
  start(): void {
    this.driverEvents ??= this.o.driver.watchEvents(e => {
      const entry = this.events.append(e);
      this.o.metrics.events.inc({ type: e.type });
      this.o.log.info({ event: e.type, uid: e.desktopUid, detail: e.detail, sequence: entry.sequence }, 'guest event');
    });
  }

  /** Stops recording events and ends every WatchEvents stream (UNAVAILABLE: reconnect elsewhere or later). */
  stop(): void {
    this.driverEvents?.close();
    this.driverEvents = undefined;
    for (const call of this.watchers) {
      call.emit('error', { code: status.UNAVAILABLE, details: 'the host agent is shutting down; reconnect and resume with the last sequence seen' });
    }
    this.watchers.clear();
  }

  /** Host gauges for a metrics scrape. */
  async refreshMetrics(): Promise<void> {
    const [node, guests] = await Promise.all([this.nodeInfo(), this.listGuests()]);
    this.o.metrics.setResources(computeCapacity(node, this.o.capacity), computeAllocated(node, guests, this.pending));
    this.o.metrics.setGuestStates(countStates(guests));
  }

  /** libvirt reachable, within a few seconds. */
  async health(): Promise<{ ok: true } | { ok: false; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`libvirt did not answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.o.driver.nodeInfo(), timeout]);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The gRPC handlers, for `server.addService(hostAgent.HostAgentService, impl)`. */
  implementation(): hostAgent.HostAgentServer {
    const d = this.o.driver;
    const guest = (g: GuestInfo): hostAgent.Guest => toGuest(g, this.o.consoleAddress);
    return {
      getHostInfo: this.unary('GetHostInfo', () => this.hostInfo()),

      ensureGuest: this.unary('EnsureGuest', async (req: hostAgent.EnsureGuestRequest, ctx) => {
        if (req.spec?.spice?.password) ctx.secrets.push(req.spec.spice.password);
        const def = v.validateGuestSpec(req.spec);
        return this.guestLock.run(def.desktopUid, async () => {
          this.refuseWhileMigrating(def.desktopUid, 'ensure');
          const [node, guests] = await Promise.all([this.nodeInfo(), this.listGuests()]);
          const current = guests.find(g => g.desktopUid === def.desktopUid);
          const demand = { vcpus: def.vcpus, memoryBytes: def.memoryBytes };
          checkFits(this.hostName(node), computeCapacity(node, this.o.capacity), computeAllocated(node, guests, this.pending), demand, current);
          const reservation: Demand & { listedFrom?: number } = { ...demand };
          this.pending.set(def.desktopUid, reservation);
          try {
            const made = await d.ensureGuest(def);
            reservation.listedFrom = this.listings + 1;
            return guest(made);
          } catch (err) {
            // The driver leaves nothing behind on failure: release the reservation now.
            if (this.pending.get(def.desktopUid) === reservation) this.pending.delete(def.desktopUid);
            throw err;
          }
        });
      }),

      startGuest: this.unary('StartGuest', (req: hostAgent.GuestRef) => {
        const uid = v.validateDesktopUid(req.desktopUid);
        return this.guestLock.run(uid, async () => {
          this.refuseWhileMigrating(uid, 'start');
          return guest(await d.startGuest(uid));
        });
      }),

      stopGuest: this.unary('StopGuest', (req: hostAgent.StopGuestRequest) => {
        const { desktopUid, timeoutMs } = v.validateStop(req);
        return this.guestLock.run(desktopUid, async () => {
          this.refuseWhileMigrating(desktopUid, 'stop');
          return guest(await d.stopGuest(desktopUid, timeoutMs));
        });
      }),

      deleteGuest: this.unary('DeleteGuest', (req: hostAgent.GuestRef) => {
        const uid = v.validateDesktopUid(req.desktopUid);
        return this.guestLock.run(uid, async () => {
          this.refuseWhileMigrating(uid, 'delete');
          return { existed: await d.deleteGuest(uid) };
        });
      }),

      getGuest: this.unary('GetGuest', async (req: hostAgent.GuestRef) => guest(await d.getGuest(v.validateDesktopUid(req.desktopUid)))),

      listGuests: this.unary('ListGuests', async () => ({ guests: (await d.listGuests()).map(guest) })),

      setConsolePassword: this.unary('SetConsolePassword', (req: hostAgent.SetConsolePasswordRequest, ctx) => {
        if (req.password) ctx.secrets.push(req.password);
        const { desktopUid, password } = v.validateSetConsolePassword(req);
        return this.guestLock.run(desktopUid, async () => {
          this.refuseWhileMigrating(desktopUid, 'change the console password of');
          await d.setConsolePassword(desktopUid, password);
          return guest(await d.getGuest(desktopUid));
        });
      }),

      screenshot: this.unary('Screenshot', async (req: hostAgent.GuestRef) => d.screenshot(v.validateDesktopUid(req.desktopUid))),

      migrateGuest: this.streaming('MigrateGuest', (call, ctx, done) => this.migrate(call, ctx, done)),

      setMigrationBandwidth: this.unary('SetMigrationBandwidth', async (req: hostAgent.SetMigrationBandwidthRequest) => {
        const { desktopUid, bandwidthMiBps } = v.validateSetMigrationBandwidth(req);
        return toProgress(desktopUid, await d.setMigrationBandwidth(desktopUid, bandwidthMiBps));
      }),

      abortMigration: this.unary('AbortMigration', async (req: hostAgent.GuestRef) => ({
        aborted: await d.abortMigration(v.validateDesktopUid(req.desktopUid)),
      })),

      watchEvents: this.streaming('WatchEvents', (call, _ctx, done) => this.watch(call, done)),
    };
  }

  private async hostInfo(): Promise<hostAgent.HostInfo> {
    const d = this.o.driver;
    const [node, images, guests] = await Promise.all([this.nodeInfo(true), d.listGoldenImages(), this.listGuests()]);
    const capacity = computeCapacity(node, this.o.capacity);
    const allocated = computeAllocated(node, guests, this.pending);
    this.o.metrics.setResources(capacity, allocated);
    this.o.metrics.setGuestStates(countStates(guests));
    return {
      hostname: node.hostname,
      hypervisor: toHypervisor(node.hypervisor),
      libvirtVersion: node.libvirtVersion,
      qemuVersion: node.qemuVersion,
      agentVersion: this.o.agentVersion,
      consoleAddress: this.o.consoleAddress,
      capacity: toResources(capacity),
      allocated: toResources(allocated),
      guestCount: guests.length,
      migrationUri: this.o.migrationUri,
      goldenImages: images.map(i => i.name).sort(),
    };
  }

  /**
   * Streams progress of a live migration until the driver reports the end. A client that
   * goes away does NOT stop the migration (AbortMigration does): the guest must end up on
   * exactly one host whatever happens to the caller's connection.
   */
  private async migrate(
    call: ServerWritableStream<hostAgent.MigrateGuestRequest, hostAgent.MigrationProgress>,
    ctx: RpcContext,
    done: (err?: unknown) => void,
  ): Promise<void> {
    const { desktopUid, options } = v.validateMigrate(call.request);
    await this.guestLock.run(desktopUid, () => {
      const running = this.migrating.get(desktopUid);
      if (running) {
        throw new AbortedError(
          `guest ${desktopUid} is already migrating to ${running.destination} (since ${running.since.toISOString()}); wait for it or call AbortMigration`,
        );
      }
      this.migrating.set(desktopUid, { destination: options.destinationAddress, since: new Date() });
      return Promise.resolve();
    });
    const send = (p: hostAgent.MigrationProgress, final: boolean): void => {
      if (call.cancelled || call.writableEnded) return;
      // Progress is a sample: when the client reads slowly, skip samples rather than queue them.
      if (!final && call.writableNeedDrain) return;
      call.write(p);
    };
    try {
      send(toProgress(desktopUid, { phase: 'starting', bytesProcessed: 0n, bytesRemaining: 0n, bytesTotal: 0n, bandwidthMiBps: options.bandwidthMiBps, elapsedMs: 0 }), false);
      const final = await this.o.driver.migrateGuest(desktopUid, options, s => send(toProgress(desktopUid, s), false));
      this.o.metrics.migrations.inc({ result: final.phase });
      this.o.log.info(
        { requestId: ctx.requestId, uid: desktopUid, phase: final.phase, destination: options.destinationAddress, elapsedMs: final.elapsedMs, downtimeMs: final.downtimeMs, reason: final.message },
        'migration ended',
      );
      send(toProgress(desktopUid, final), true);
      done();
    } catch (err) {
      this.o.metrics.migrations.inc({ result: 'error' });
      throw err;
    } finally {
      this.migrating.delete(desktopUid);
    }
  }

  /** Replays the event log after the caller's position, then tails it (see EventLog). */
  private watch(call: ServerWritableStream<hostAgent.WatchEventsRequest, hostAgent.GuestEvent>, done: (err?: unknown) => void): Promise<void> {
    const after = call.request.afterSequence;
    const { epoch } = call.request;
    if (after > 0n && epoch && epoch !== this.epoch) {
      throw new OutOfRangeError(`after_sequence ${after} is from event epoch ${epoch}, but this agent restarted (epoch ${this.epoch}); relist with ListGuests and watch from 0`);
    }
    if (after > BigInt(Number.MAX_SAFE_INTEGER)) throw new OutOfRangeError(`after_sequence ${after} is ahead of this agent's event log; relist with ListGuests and watch from 0`);
    // Assigned below; `end` may only run once subscribe() has returned.
    // eslint-disable-next-line prefer-const
    let sub: Subscription | undefined;
    const end = (err?: unknown): void => {
      sub?.close();
      this.watchers.delete(call);
      done(err);
    };
    sub = this.events.subscribe(Number(after), {
      write: e => (call.cancelled || call.writableEnded ? true : call.write(toGuestEvent(e, this.epoch))),
      fail: err => end(err),
    });
    this.watchers.add(call);
    call.on('drain', () => sub?.resume());
    call.on('cancelled', () => end());
    call.on('close', () => end());
    return Promise.resolve();
  }

  /** The driver's guest list; drops reservations this listing is sure to include. */
  private async listGuests(): Promise<GuestInfo[]> {
    const number = ++this.listings;
    const guests = await this.o.driver.listGuests();
    for (const [uid, r] of this.pending) if (r.listedFrom !== undefined && r.listedFrom <= number) this.pending.delete(uid);
    return guests;
  }

  private refuseWhileMigrating(uid: string, verb: string): void {
    const m = this.migrating.get(uid);
    if (m) throw new FailedPreconditionError(`cannot ${verb} guest ${uid} while it migrates to ${m.destination}; wait for the migration to end or call AbortMigration`);
  }

  private nodeInfo(fresh = false): Promise<NodeInfo> {
    const now = Date.now();
    if (fresh || !this.nodeCache || now - this.nodeCache.at > NODE_INFO_TTL_MS) {
      const info = this.o.driver.nodeInfo();
      this.nodeCache = { at: now, info };
      info.catch(() => {
        if (this.nodeCache?.info === info) this.nodeCache = undefined;
      });
    }
    return this.nodeCache.info;
  }

  private hostName(node: NodeInfo): string {
    return this.o.hostName ?? node.hostname;
  }

  // ---- RPC plumbing: request id, one log line per call, metrics, error mapping ----

  private unary<Req, Res>(method: string, fn: (req: Req, ctx: RpcContext) => Promise<Res>): handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const t0 = performance.now();
      const ctx: RpcContext = { requestId: requestIdFrom(call.metadata), secrets: [] };
      const trailer = new Metadata();
      trailer.set('x-request-id', ctx.requestId);
      // async wrapper: a synchronous throw (validation) becomes a rejection like any other.
      const result = (async () => fn(call.request, ctx))();
      result.then(
        res => {
          this.record(method, call.request, ctx, t0, status.OK);
          callback(null, res, trailer);
        },
        (err: unknown) => {
          const st = this.toStatus(err, method, call.request, ctx, t0);
          callback({ ...st, metadata: trailer }, null, trailer);
        },
      );
    };
  }

  private streaming<Req, Res>(
    method: string,
    fn: (call: ServerWritableStream<Req, Res>, ctx: RpcContext, done: (err?: unknown) => void) => Promise<void>,
  ): handleServerStreamingCall<Req, Res> {
    return call => {
      const t0 = performance.now();
      const ctx: RpcContext = { requestId: requestIdFrom(call.metadata), secrets: [] };
      let finished = false;
      const done = (err?: unknown): void => {
        if (finished) return;
        finished = true;
        if (err === undefined) {
          this.record(method, call.request, ctx, t0, call.cancelled ? status.CANCELLED : status.OK);
          if (!call.cancelled && !call.writableEnded) call.end();
        } else {
          const st = this.toStatus(err, method, call.request, ctx, t0);
          if (!call.cancelled && !call.writableEnded) call.emit('error', st);
        }
      };
      (async () => fn(call, ctx, done))().catch(done);
    };
  }

  private toStatus(err: unknown, method: string, req: unknown, ctx: RpcContext, t0: number): { code: status; details: string } {
    const scrub = (s: string): string => ctx.secrets.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s);
    if (err instanceof HostAgentError) {
      const details = scrub(err.message);
      this.record(method, req, ctx, t0, err.grpcCode, { error: details, errorCode: err.code });
      return { code: err.grpcCode, details };
    }
    const detail = scrub(err instanceof Error ? (err.stack ?? err.message) : String(err));
    this.record(method, req, ctx, t0, status.INTERNAL, { error: detail });
    return { code: status.INTERNAL, details: `internal error in the host agent (request id ${ctx.requestId}); its log has the detail` };
  }

  private record(method: string, req: unknown, ctx: RpcContext, t0: number, code: status, extra: Record<string, unknown> = {}): void {
    const seconds = (performance.now() - t0) / 1000;
    const codeName = status[code] ?? String(code);
    this.o.metrics.rpcDuration.observe({ method, code: codeName }, seconds);
    const line = { requestId: ctx.requestId, method, uid: uidOf(req), code: codeName, durationMs: Math.round(seconds * 1000), ...extra };
    if (code === status.OK || code === status.CANCELLED) this.o.log.info(line, 'rpc');
    else if (code === status.INTERNAL || code === status.UNKNOWN) this.o.log.error(line, 'rpc');
    else this.o.log.warn(line, 'rpc');
  }
}

/** The desktop uid a request is about, for the log line (as given, shortened). */
function uidOf(req: unknown): string | undefined {
  if (typeof req !== 'object' || req === null) return undefined;
  const r = req as { desktopUid?: unknown; spec?: { desktopUid?: unknown } };
  const uid = r.desktopUid ?? r.spec?.desktopUid;
  return typeof uid === 'string' && uid !== '' ? uid.slice(0, 64) : undefined;
}
