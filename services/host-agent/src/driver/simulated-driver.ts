/**
 * SIMULATED hypervisor driver — for scale benchmarks of the control plane ONLY.
 *
 * `SimulatedDriver` implements `HostDriver` in memory: no libvirt, no QEMU, no disk. Each
 * operation sleeps for a configurable latency (defaults: the real `LibvirtDriver`'s measured
 * medians from services/host-agent/README.md) and then changes an in-memory table of guests,
 * with the same error semantics as the real driver (NotFound, AlreadyExists for a foreign
 * domain, FailedPrecondition for an unknown golden image / a guest that is not running /
 * a migration to itself, idempotent ensure / start / stop / delete).
 *
 * It exists so `bench/provision` can push hundreds of desktops through the operator, the
 * queue and real host agents (gRPC) on a 2-core machine. It is never a stand-in for a real
 * test (DESIGN.md: "a simulated hypervisor driver is allowed only for scale benchmarks of
 * the control plane, clearly labelled"): it reports itself as such everywhere it can —
 * `NodeInfo.libvirtVersion` and `qemuVersion` are `simulated`, the hostname is `sim-<name>`,
 * the libvirt URI is `sim://<name>`.
 *
 * @example
 * import { parseConfig, SimulatedDriver, startHostAgent } from '@deskplane/host-agent';
 * const driver = new SimulatedDriver({ name: 'a', latencies: 'zero' });
 * const config = parseConfig({}, { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: '127.0.0.1', DESKPLANE_HOST_AGENT_LISTEN: '127.0.0.1:0', DESKPLANE_HOST_AGENT_METRICS_LISTEN: 'off' });
 * const agent = await startHostAgent(config, driver);   // a gRPC host agent over the simulation
 * // …
 * await agent.close();
 * await driver.close();   // startHostAgent does not close a driver it was given
 */
import { AbortedError, AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors';
import { domainNameFor } from './domain-xml';
import { encodePng } from './png';
import type {
  DomainEvent,
  DomainEventType,
  EventSubscription,
  GoldenImage,
  GuestDefinition,
  GuestInfo,
  GuestState,
  HostDriver,
  MigrationOptions,
  MigrationStats,
  NodeInfo,
} from './types';

/** Per-operation latency (ms) of the simulated hypervisor. */
export interface SimulatedLatencies {
  /** nodeinfo + version + hostname (4 virsh calls in parallel, ~25 ms each). */
  nodeInfo: number;
  listGoldenImages: number;
  /** A new guest: overlay + define (README: ensureGuest 124 ms, define itself 24 ms). */
  ensureGuest: number;
  /** The same spec again: dumpxml + compare (README: 67 ms). */
  ensureGuestUnchanged: number;
  /** `virsh start` until libvirt reports running (README: start 363 ms, startGuest 426 ms). */
  startGuest: number;
  /** Already running (README: 38 ms). */
  startGuestRunning: number;
  /** The ACPI request itself (README: shutdown 19 ms). */
  shutdownRequest: number;
  /** Forced off (README: destroy of a running guest 1.6–2.0 s). */
  destroy: number;
  /** destroy + undefine + files (README: deleteGuest 61 ms, plus destroy when it runs). */
  deleteGuest: number;
  getGuest: number;
  listGuests: number;
  setConsolePassword: number;
  screenshot: number;
  /** Wall time of a live migration (README: 2.5 s for an idle 192 MiB guest). */
  migrate: number;
  /** setMigrationBandwidth / abortMigration (README: ~23–33 ms). */
  migrationControl: number;
}

/** The real LibvirtDriver's medians on the testbed (services/host-agent/README.md, "Measured latencies"). */
export const MEASURED_LATENCIES: Readonly<SimulatedLatencies> = Object.freeze({
  nodeInfo: 26,
  listGoldenImages: 20,
  ensureGuest: 124,
  ensureGuestUnchanged: 67,
  startGuest: 426,
  startGuestRunning: 38,
  shutdownRequest: 19,
  destroy: 1_800,
  deleteGuest: 61,
  getGuest: 36,
  listGuests: 60,
  setConsolePassword: 111,
  screenshot: 59,
  migrate: 2_500,
  migrationControl: 25,
});

/** Every latency 0: what is left is the control plane itself. */
export const ZERO_LATENCIES: Readonly<SimulatedLatencies> = Object.freeze(
  Object.fromEntries(Object.keys(MEASURED_LATENCIES).map((k) => [k, 0])) as unknown as SimulatedLatencies,
);

export interface SimulatedDriverOptions {
  /** Host name: hostname `sim-<name>`, libvirt URI `sim://<name>`. */
  name: string;
  /** Address reported for SPICE (nothing listens there). Default 127.0.0.1. */
  consoleAddress?: string;
  /** 'measured' (default) = MEASURED_LATENCIES; 'zero' = ZERO_LATENCIES; or overrides of the measured ones. */
  latencies?: 'measured' | 'zero' | Partial<SimulatedLatencies>;
  /**
   * The guest OS's own boot after the domain runs (ms; default 8000, about the testbed's
   * busybox guest under TCG). Until then the screen is blank and ACPI is ignored, as on a
   * real guest whose OS is not up yet; the domain itself is `running` at once.
   */
  bootMs?: number;
  /** How long a booted guest takes to power off after an ACPI request (ms; default 1000). */
  acpiShutdownMs?: number;
  /** Physical CPUs, memory and disk the node reports (default 256 CPUs, 1 TiB, 100 TiB). */
  node?: { cpus?: number; memoryBytes?: bigint; diskBytes?: bigint };
  /** Golden images present (default one: busybox, 1 GiB). */
  goldenImages?: Array<{ name: string; virtualSizeBytes: bigint }>;
  /** Peers reachable for migration (drivers register themselves). Default: none but this one. */
  fabric?: SimulatedFabric;
  /** SPICE ports handed out from here (default 5900). */
  firstSpicePort?: number;
}

/** Simulated hosts that can migrate guests to each other, by libvirt URI (`sim://<name>`). */
export class SimulatedFabric {
  private readonly drivers = new Map<string, SimulatedDriver>();
  register(d: SimulatedDriver): void {
    this.drivers.set(d.uri, d);
  }
  unregister(d: SimulatedDriver): void {
    if (this.drivers.get(d.uri) === d) this.drivers.delete(d.uri);
  }
  byUri(uri: string): SimulatedDriver | undefined {
    return this.drivers.get(uri);
  }
}

interface SimGuest {
  def: GuestDefinition;
  state: GuestState;
  stateReason: string;
  spicePort: number;
  /** When the guest OS counts as booted (Date.now() ms); undefined when not running. */
  bootedAt?: number;
  /** Set while an ACPI shutdown is in progress (ms when it will be off). */
  powerOffAt?: number;
}

interface SimMigration {
  destination: SimulatedDriver;
  startedAt: number;
  bandwidthMiBps: number;
  abort?: () => void;
}

const GiB = 1024n ** 3n;
const SCREEN = { width: 64, height: 48 };

export class SimulatedDriver implements HostDriver {
  readonly name: string;
  readonly uri: string;
  private lat: Readonly<SimulatedLatencies>;
  /** Calls per driver method, for benchmarks ("how many GetGuest polls did a provision cost"). */
  readonly calls: Record<string, number> = {};
  private readonly guests = new Map<string, SimGuest>();
  /** Domain names on this "host" without Deskplane metadata. */
  private readonly foreign = new Set<string>();
  private readonly migrations = new Map<string, SimMigration>();
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private readonly images: GoldenImage[];
  /** Pending sleeps: close() ends them at once. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private nextPort: number;
  private closed = false;

  constructor(private readonly o: SimulatedDriverOptions) {
    this.name = o.name;
    this.uri = `sim://${o.name}`;
    this.lat = resolveLatencies(o.latencies ?? 'measured');
    this.images = (o.goldenImages ?? [{ name: 'busybox', virtualSizeBytes: GiB }]).map((i) => ({ name: i.name, path: `sim://${o.name}/golden/${i.name}.qcow2`, virtualSizeBytes: i.virtualSizeBytes }));
    this.nextPort = o.firstSpicePort ?? 5900;
    o.fabric?.register(this);
  }

  /** The latencies in effect. */
  get latencies(): Readonly<SimulatedLatencies> {
    return this.lat;
  }

  /** Bench hook: change the latencies from now on (e.g. zero for a fast teardown). */
  setLatencies(l: 'measured' | 'zero' | Partial<SimulatedLatencies>): void {
    this.lat = resolveLatencies(l);
  }

  /** Test and bench hook: a domain of that name exists here but Deskplane did not make it. */
  addForeignDomain(domainName: string): void {
    this.foreign.add(domainName);
  }

  /** Test and bench hook: the guest's QEMU dies (state shutoff/crashed, a `crashed` event). */
  crash(desktopUid: string): void {
    const g = this.guests.get(desktopUid);
    if (!g || !isActive(g.state)) throw new FailedPreconditionError(`simulated guest ${domainNameFor(desktopUid)} is not running`, 'GUEST_NOT_RUNNING');
    this.powerOff(g, 'crashed');
    this.emit(desktopUid, 'crashed', 'Stopped Failed');
  }

  /** When the guest's OS finished booting (ms since the epoch), if it runs. */
  bootedAt(desktopUid: string): number | undefined {
    return this.guests.get(desktopUid)?.bootedAt;
  }

  async nodeInfo(): Promise<NodeInfo> {
    await this.delay('nodeInfo');
    const disk = this.o.node?.diskBytes ?? 100n * 1024n * GiB;
    return {
      hostname: `sim-${this.name}`,
      hypervisor: 'qemu-tcg',
      cpus: this.o.node?.cpus ?? 256,
      memoryBytes: this.o.node?.memoryBytes ?? 1024n * GiB,
      diskCapacityBytes: disk,
      diskFreeBytes: disk,
      libvirtVersion: 'simulated',
      qemuVersion: 'simulated',
    };
  }

  async listGoldenImages(): Promise<GoldenImage[]> {
    await this.delay('listGoldenImages');
    return this.images.map((i) => ({ ...i }));
  }

  async ensureGuest(def: GuestDefinition): Promise<GuestInfo> {
    const existing = this.guests.get(def.desktopUid);
    const unchanged = existing !== undefined && sameDefinition(existing.def, def);
    await this.delay(unchanged ? 'ensureGuestUnchanged' : 'ensureGuest');
    const name = domainNameFor(def.desktopUid);
    const image = this.images.find((i) => i.name === def.goldenImage);
    if (!image) {
      throw new FailedPreconditionError(
        `golden image '${def.goldenImage}' is not on host ${this.name} (${this.uri}); known: ${this.images.map((i) => i.name).join(', ') || '(none)'}`,
        'GOLDEN_IMAGE_NOT_FOUND',
      );
    }
    if (this.foreign.has(name)) {
      throw new AlreadyExistsError(`a domain named ${name} already exists on ${this.uri} but Deskplane did not make it (no deskplane metadata); rename or remove it`, 'FOREIGN_DOMAIN');
    }
    if (def.diskBytes < image.virtualSizeBytes) {
      throw new InvalidArgumentError(`disk of ${def.diskBytes} bytes is smaller than golden image '${image.name}' (${image.virtualSizeBytes} bytes)`, 'DISK_TOO_SMALL');
    }
    const g = this.guests.get(def.desktopUid);
    // A changed spec is effective at next boot; a changed password applies live — both are just "the new definition" here.
    if (g) g.def = cloneDef(def);
    else this.guests.set(def.desktopUid, { def: cloneDef(def), state: 'shutoff', stateReason: 'unknown', spicePort: 0 });
    return this.info(def.desktopUid);
  }

  async startGuest(desktopUid: string): Promise<GuestInfo> {
    const running = this.guests.get(desktopUid)?.state === 'running';
    await this.delay(running ? 'startGuestRunning' : 'startGuest');
    const g = this.mustGet(desktopUid);
    if (g.state === 'running') return this.info(desktopUid);
    if (g.state === 'paused') {
      g.state = 'running';
      g.stateReason = 'unpaused';
      return this.info(desktopUid);
    }
    g.state = 'running';
    g.stateReason = 'booted';
    g.spicePort = this.nextPort++;
    g.bootedAt = Date.now() + (this.o.bootMs ?? 8_000);
    g.powerOffAt = undefined;
    this.emit(desktopUid, 'started', 'Started Booted');
    return this.info(desktopUid);
  }

  async stopGuest(desktopUid: string, timeoutMs: number): Promise<GuestInfo> {
    const g = this.mustGet(desktopUid);
    if (!isActive(g.state)) {
      await this.delay('getGuest');
      return this.info(desktopUid);
    }
    await this.delay('shutdownRequest');
    const now = Date.now();
    // A guest whose OS is not up yet ignores ACPI, as a real one does.
    if (g.bootedAt !== undefined && g.bootedAt <= now) g.powerOffAt ??= now + (this.o.acpiShutdownMs ?? 1_000);
    const offAt = g.powerOffAt;
    if (offAt !== undefined && offAt - now <= timeoutMs) {
      await this.sleep(Math.max(0, offAt - now));
      if (isActive(g.state)) {
        this.powerOff(g, 'shutdown');
        this.emit(desktopUid, 'stopped', 'Stopped Shutdown');
      }
      return this.info(desktopUid);
    }
    await this.sleep(timeoutMs);
    await this.delay('destroy');
    if (isActive(g.state)) {
      this.powerOff(g, 'destroyed');
      this.emit(desktopUid, 'stopped', 'Stopped Destroyed');
    }
    return this.info(desktopUid);
  }

  async deleteGuest(desktopUid: string): Promise<boolean> {
    const wasRunning = isActive(this.guests.get(desktopUid)?.state ?? 'shutoff');
    await this.delay('deleteGuest');
    if (wasRunning) await this.delay('destroy');
    const name = domainNameFor(desktopUid);
    if (this.foreign.has(name)) throw new FailedPreconditionError(`${name} on ${this.uri} was not made by Deskplane; refusing to delete it`, 'FOREIGN_DOMAIN');
    const m = this.migrations.get(desktopUid);
    m?.abort?.();
    const g = this.guests.get(desktopUid);
    if (!g) return false;
    if (isActive(g.state)) {
      this.powerOff(g, 'destroyed');
      this.emit(desktopUid, 'stopped', 'Stopped Destroyed');
    }
    this.guests.delete(desktopUid);
    return true;
  }

  async getGuest(desktopUid: string): Promise<GuestInfo> {
    await this.delay('getGuest');
    this.mustGet(desktopUid);
    return this.info(desktopUid);
  }

  async listGuests(): Promise<GuestInfo[]> {
    await this.delay('listGuests');
    return [...this.guests.keys()].map((uid) => this.info(uid));
  }

  async setConsolePassword(desktopUid: string, password: string): Promise<void> {
    await this.delay('setConsolePassword');
    const g = this.mustGet(desktopUid);
    g.def = { ...g.def, spice: { ...g.def.spice, password } };
  }

  async screenshot(desktopUid: string): Promise<{ png: Buffer; width: number; height: number }> {
    await this.delay('screenshot');
    const g = this.mustGet(desktopUid);
    if (!isActive(g.state)) throw new FailedPreconditionError(`guest ${domainNameFor(desktopUid)} is ${g.state}; only a running guest has a screen`, 'GUEST_NOT_RUNNING');
    const booted = g.bootedAt !== undefined && g.bootedAt <= Date.now();
    const pixels = Buffer.alloc(SCREEN.width * SCREEN.height * 3);
    // Booted: a two-tone "desktop" (never one flat colour); booting: black.
    if (booted) for (let i = 0; i < pixels.length; i += 3) pixels[i + ((i / 3) % SCREEN.width < SCREEN.width / 2 ? 1 : 2)] = 0xc0;
    return { png: encodePng({ ...SCREEN, pixels, channels: 3 }), ...SCREEN };
  }

  async migrateGuest(desktopUid: string, opts: MigrationOptions, onProgress: (s: MigrationStats) => void): Promise<MigrationStats> {
    const name = domainNameFor(desktopUid);
    if (this.migrations.has(desktopUid)) throw new AbortedError(`guest ${name} is already migrating; wait for it or abort it`, 'MIGRATION_RUNNING');
    await this.delay('getGuest');
    const g = this.mustGet(desktopUid);
    if (!isActive(g.state)) throw new FailedPreconditionError(`guest ${name} is ${g.state}; only a running guest can be live-migrated`, 'GUEST_NOT_RUNNING');
    if (opts.destinationUri === this.uri) throw new FailedPreconditionError(`guest ${name} already runs on ${opts.destinationUri}; pick another destination`, 'SAME_HOST');
    const destination = this.o.fabric?.byUri(opts.destinationUri);
    const total = g.def.memoryBytes;
    const stats = (phase: MigrationStats['phase'], done: number, extra: Partial<MigrationStats> = {}): MigrationStats => {
      const processed = (total * BigInt(Math.round(done * 1000))) / 1000n;
      return { phase, bytesProcessed: processed, bytesRemaining: total - processed, bytesTotal: total, bandwidthMiBps: m.bandwidthMiBps, elapsedMs: Date.now() - m.startedAt, ...extra };
    };
    const m: SimMigration = { destination: destination ?? this, startedAt: Date.now(), bandwidthMiBps: opts.bandwidthMiBps };
    if (!destination || destination.closed) {
      return stats('failed', 0, { message: `simulated: cannot connect to ${opts.destinationUri} (no simulated host registered at that URI)` });
    }
    this.migrations.set(desktopUid, m);
    try {
      const wall = this.lat.migrate;
      let aborted = false;
      const abortWait = new Promise<void>((resolve) => {
        m.abort = () => {
          aborted = true;
          resolve();
        };
      });
      const started = Date.now();
      while (!aborted && Date.now() - started < wall) {
        await Promise.race([this.sleep(Math.min(500, wall - (Date.now() - started))), abortWait]);
        if (!aborted && Date.now() - started < wall) onProgress(stats('migrating', (Date.now() - started) / wall));
      }
      if (aborted) return stats('aborted', 0, { message: 'operation aborted: migration job: canceled by client' });
      if (!this.guests.has(desktopUid)) return stats('failed', 0, { message: `guest ${name} disappeared during migration` });
      this.guests.delete(desktopUid);
      destination.receive({ ...g, def: cloneDef(g.def) });
      this.emit(desktopUid, 'migrated_out', 'Stopped Migrated');
      return stats('succeeded', 1, { downtimeMs: wall === 0 ? 0 : 40 });
    } finally {
      this.migrations.delete(desktopUid);
    }
  }

  async setMigrationBandwidth(desktopUid: string, bandwidthMiBps: number): Promise<MigrationStats> {
    await this.delay('migrationControl');
    const m = this.migrations.get(desktopUid);
    if (!m) throw new FailedPreconditionError(`no migration of guest ${domainNameFor(desktopUid)} is running`, 'NO_MIGRATION');
    m.bandwidthMiBps = bandwidthMiBps;
    const total = this.guests.get(desktopUid)?.def.memoryBytes ?? 0n;
    return { phase: 'migrating', bytesProcessed: 0n, bytesRemaining: total, bytesTotal: total, bandwidthMiBps, elapsedMs: Date.now() - m.startedAt };
  }

  async abortMigration(desktopUid: string): Promise<boolean> {
    await this.delay('migrationControl');
    const m = this.migrations.get(desktopUid);
    if (!m) return false;
    m.abort?.();
    return true;
  }

  watchEvents(onEvent: (e: DomainEvent) => void): EventSubscription {
    this.listeners.add(onEvent);
    return { close: () => this.listeners.delete(onEvent) };
  }

  close(): Promise<void> {
    this.closed = true;
    for (const m of this.migrations.values()) m.abort?.();
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve();
    }
    this.timers.clear();
    this.listeners.clear();
    this.o.fabric?.unregister(this);
    return Promise.resolve();
  }

  /** The destination side of a migration. */
  private receive(g: SimGuest): void {
    g.spicePort = this.nextPort++;
    g.stateReason = 'migrated';
    this.guests.set(g.def.desktopUid, g);
    this.emit(g.def.desktopUid, 'migrated_in', 'Resumed Migrated');
  }

  private mustGet(desktopUid: string): SimGuest {
    const g = this.guests.get(desktopUid);
    if (!g) {
      const name = domainNameFor(desktopUid);
      if (this.foreign.has(name)) throw new NotFoundError(`${name} on ${this.uri} is not a Deskplane guest (no deskplane metadata)`, 'GUEST_NOT_FOUND');
      throw new NotFoundError(`Domain not found: no domain with matching name '${name}' (on ${this.uri})`, 'GUEST_NOT_FOUND');
    }
    return g;
  }

  private info(desktopUid: string): GuestInfo {
    const g = this.mustGet(desktopUid);
    return {
      desktopUid,
      domainName: domainNameFor(desktopUid),
      state: g.state,
      stateReason: g.stateReason,
      spicePort: isActive(g.state) ? g.spicePort : 0,
      vcpus: g.def.vcpus,
      memoryBytes: g.def.memoryBytes,
      diskPath: `sim://${this.name}/guests/${domainNameFor(desktopUid)}.qcow2`,
      goldenImage: g.def.goldenImage,
    };
  }

  private powerOff(g: SimGuest, reason: string): void {
    g.state = 'shutoff';
    g.stateReason = reason;
    g.spicePort = 0;
    g.bootedAt = undefined;
    g.powerOffAt = undefined;
  }

  private emit(desktopUid: string, type: DomainEventType, detail: string): void {
    const e: DomainEvent = { desktopUid, domainName: domainNameFor(desktopUid), type, detail, time: new Date() };
    for (const l of this.listeners) l(e);
  }

  private delay(op: keyof SimulatedLatencies): Promise<void> {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    return this.sleep(this.lat[op]);
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }
}

function resolveLatencies(l: 'measured' | 'zero' | Partial<SimulatedLatencies>): Readonly<SimulatedLatencies> {
  return Object.freeze(l === 'measured' ? { ...MEASURED_LATENCIES } : l === 'zero' ? { ...ZERO_LATENCIES } : { ...MEASURED_LATENCIES, ...l });
}

const isActive = (s: GuestState): boolean => s === 'running' || s === 'paused' || s === 'shutting_down';

function cloneDef(d: GuestDefinition): GuestDefinition {
  return { ...d, spice: { ...d.spice } };
}

function sameDefinition(a: GuestDefinition, b: GuestDefinition): boolean {
  return (
    a.displayName === b.displayName &&
    a.vcpus === b.vcpus &&
    a.memoryBytes === b.memoryBytes &&
    a.diskBytes === b.diskBytes &&
    a.goldenImage === b.goldenImage &&
    a.spice.password === b.spice.password &&
    a.spice.imageCompression === b.spice.imageCompression &&
    a.spice.streamingMode === b.spice.streamingMode
  );
}
