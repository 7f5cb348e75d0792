import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlreadyExistsError, FailedPreconditionError, InternalError, NotFoundError } from '../errors';
import { parseDomainXml, parseDomState, withPassword } from './domain-parse';
import { buildDomainXml, domainNameFor, DOMAIN_PREFIX } from './domain-xml';
import { EventStream } from './event-stream';
import { detectDomainType, parseNodeInfo, parseVersion } from './host-info';
import { Migrations } from './migration';
import { encodePng, parsePpm, pngSize, PNG_SIGNATURE } from './png';
import { ensureOverlay, findGoldenImage, imageInUse, listGoldenImages, removeFiles } from './storage';
import type {
  DomainEvent,
  DriverConfig,
  EventSubscription,
  GoldenImage,
  GuestDefinition,
  GuestInfo,
  HostDriver,
  MigrationOptions,
  MigrationStats,
  NodeInfo,
} from './types';
import { INPUT_FILE, medianTimings, Virsh } from './virsh';

const STOP_POLL_MS = 250;

/**
 * HostDriver on libvirt through `virsh` (virsh.ts holds every call). Guests are domains
 * named `dp-<uid>` carrying Deskplane metadata; anything else on the host is foreign and
 * never changed. Calls for one guest are serialised; different guests run in parallel.
 *
 * @example
 * const driver = new LibvirtDriver({ libvirtUri: 'qemu:///system', consoleAddress: '10.0.0.5',
 *   storageDir: '/var/lib/deskplane/guests', goldenImagesDir: '/var/lib/deskplane/golden',
 *   assumeSharedStorage: false });
 * await driver.ensureGuest(def);
 * await driver.startGuest(def.desktopUid);
 */
export class LibvirtDriver implements HostDriver {
  private readonly virsh: Virsh;
  private readonly events: EventStream;
  private readonly migrations: Migrations;
  private readonly log: NonNullable<DriverConfig['log']>;
  private readonly locks = new Map<string, Promise<unknown>>();
  private domainTypeP: Promise<'kvm' | 'qemu'> | undefined;

  constructor(private readonly config: DriverConfig) {
    this.log = config.log ?? (() => undefined);
    this.virsh = new Virsh(config.libvirtUri, config.callTimeoutMs);
    this.events = new EventStream(this.virsh, this.log);
    this.migrations = new Migrations(this.virsh, config.assumeSharedStorage, this.log);
  }

  /** Domain type in use: config.domainType, else detected once. */
  domainType(): Promise<'kvm' | 'qemu'> {
    this.domainTypeP ??= this.config.domainType ? Promise.resolve(this.config.domainType) : detectDomainType(this.virsh);
    return this.domainTypeP;
  }

  /** Median latency (ms) and sample count of each virsh subcommand this driver ran. */
  callTimings(): Record<string, { median: number; n: number }> {
    return medianTimings(this.virsh.timings);
  }

  async nodeInfo(): Promise<NodeInfo> {
    const [node, version, hostname, fsStats, type] = await Promise.all([
      this.virsh.run(['nodeinfo']),
      this.virsh.run(['version']),
      this.virsh.run(['hostname']),
      fs.statfs(this.config.storageDir).catch((err: Error) => {
        throw new FailedPreconditionError(`storage dir ${this.config.storageDir} is not usable: ${err.message}`, 'STORAGE_DIR');
      }),
      this.domainType(),
    ]);
    return {
      hostname: hostname.trim(),
      hypervisor: type === 'kvm' ? 'kvm' : 'qemu-tcg',
      ...parseNodeInfo(node),
      diskCapacityBytes: BigInt(fsStats.blocks) * BigInt(fsStats.bsize),
      diskFreeBytes: BigInt(fsStats.bavail) * BigInt(fsStats.bsize),
      ...parseVersion(version),
    };
  }

  listGoldenImages(): Promise<GoldenImage[]> {
    return listGoldenImages(this.config.goldenImagesDir);
  }

  ensureGuest(def: GuestDefinition): Promise<GuestInfo> {
    return this.locked(def.desktopUid, async () => {
      const { name, diskPath, serialLogPath, subject } = this.paths(def.desktopUid);
      const image = await findGoldenImage(this.config.goldenImagesDir, def.goldenImage, `host ${this.config.consoleAddress} (${this.config.libvirtUri})`);
      const desired = buildDomainXml({ def, image, domainType: await this.domainType(), diskPath, serialLogPath });
      const existingXml = await this.virsh.runOrMissing(['dumpxml', '--inactive', '--security-info', name], { subject });
      if (existingXml === undefined) {
        const created = await ensureOverlay(image, diskPath, def.diskBytes);
        try {
          await this.virsh.run(['define', INPUT_FILE], { input: desired, subject });
        } catch (err) {
          if (created) await removeFiles([diskPath]);
          throw err;
        }
        this.log('info', 'guest defined', { domain: name, goldenImage: image.name });
        return this.getGuest(def.desktopUid);
      }
      const existing = parseDomainXml(existingXml);
      if (!existing.metadata) {
        throw new AlreadyExistsError(
          `a domain named ${name} already exists on ${this.config.libvirtUri} but Deskplane did not make it (no deskplane metadata); rename or remove it`,
          'FOREIGN_DOMAIN',
        );
      }
      await ensureOverlay(image, diskPath, def.diskBytes);
      if (existing.metadata.specHash !== parseDomainXml(desired).metadata?.specHash) {
        await this.virsh.run(['define', INPUT_FILE], { input: desired, subject });
        this.log('info', 'guest redefined (effective at next boot)', { domain: name });
      }
      if (existing.spicePassword !== def.spice.password) await this.applyPassword(name, def.spice.password);
      return this.getGuest(def.desktopUid);
    });
  }

  startGuest(desktopUid: string): Promise<GuestInfo> {
    return this.locked(desktopUid, async () => {
      const { name, subject } = this.paths(desktopUid);
      const info = await this.getGuest(desktopUid);
      if (info.state === 'running') return info;
      if (info.state === 'paused') await this.virsh.run(['resume', name], { subject });
      else await this.virsh.run(['start', name], { subject, timeoutMs: Math.max(this.config.callTimeoutMs ?? 0, 60_000) });
      return this.getGuest(desktopUid);
    });
  }

  stopGuest(desktopUid: string, timeoutMs: number): Promise<GuestInfo> {
    return this.locked(desktopUid, async () => {
      const { name, subject } = this.paths(desktopUid);
      let info = await this.getGuest(desktopUid);
      if (!isActive(info.state)) return info;
      const deadline = Date.now() + timeoutMs;
      await this.virsh.run(['shutdown', name], { subject }).catch(ignoreStateErrors);
      while (Date.now() < deadline) {
        await sleep(Math.min(STOP_POLL_MS, Math.max(0, deadline - Date.now())));
        info = await this.getGuest(desktopUid);
        if (!isActive(info.state)) return info;
      }
      this.log('info', `guest did not shut down within ${timeoutMs} ms; forcing it off`, { domain: name });
      await this.virsh.run(['destroy', name], { subject }).catch(ignoreStateErrors);
      return this.getGuest(desktopUid);
    });
  }

  deleteGuest(desktopUid: string): Promise<boolean> {
    return this.locked(desktopUid, async () => {
      const { name, diskPath, serialLogPath, subject } = this.paths(desktopUid);
      if (this.migrations.isRunning(desktopUid)) await this.migrations.abort(desktopUid, 'guest is being deleted');
      let existed = false;
      const xml = await this.virsh.runOrMissing(['dumpxml', '--inactive', name], { subject });
      if (xml !== undefined) {
        if (!parseDomainXml(xml).metadata) {
          throw new FailedPreconditionError(`${name} on ${this.config.libvirtUri} was not made by Deskplane; refusing to delete it`, 'FOREIGN_DOMAIN');
        }
        await this.virsh.run(['destroy', name], { subject }).catch(ignoreStateErrors);
        await this.virsh.run(['undefine', '--managed-save', '--snapshots-metadata', name], { subject }).catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
        existed = true;
        this.log('info', 'guest deleted', { domain: name });
      }
      if (!existed && (await imageInUse(diskPath))) {
        // Not defined here, but a QEMU (on another host sharing the storage) runs on it.
        this.log('info', 'guest is not on this host and its disk is in use elsewhere; files kept', { domain: name });
        return false;
      }
      return (await removeFiles([diskPath, serialLogPath])) || existed;
    });
  }

  async getGuest(desktopUid: string): Promise<GuestInfo> {
    const { name, subject } = this.paths(desktopUid);
    const [xml, stateOut] = await Promise.all([
      this.virsh.run(['dumpxml', name], { subject }),
      this.virsh.run(['domstate', '--reason', name], { subject }),
    ]);
    const d = parseDomainXml(xml);
    if (!d.metadata) throw new NotFoundError(`${name} on ${this.config.libvirtUri} is not a Deskplane guest (no deskplane metadata)`, 'GUEST_NOT_FOUND');
    const { state, reason } = parseDomState(stateOut);
    return {
      desktopUid,
      domainName: name,
      state,
      stateReason: reason,
      spicePort: isActive(state) ? d.spicePort : 0,
      vcpus: d.vcpus,
      memoryBytes: d.memoryKiB * 1024n,
      diskPath: d.metadata.diskPath || d.diskPath || '',
      goldenImage: d.metadata.goldenImage,
    };
  }

  async listGuests(): Promise<GuestInfo[]> {
    const names = (await this.virsh.run(['list', '--all', '--name'])).split('\n').map((s) => s.trim());
    const guests: GuestInfo[] = [];
    for (const n of names.filter((x) => x.startsWith(DOMAIN_PREFIX))) {
      const info = await this.getGuest(n.slice(DOMAIN_PREFIX.length)).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined; // foreign, or gone meanwhile
        throw err;
      });
      if (info) guests.push(info);
    }
    return guests;
  }

  setConsolePassword(desktopUid: string, password: string): Promise<void> {
    return this.locked(desktopUid, async () => {
      await this.getGuest(desktopUid);
      await this.applyPassword(domainNameFor(desktopUid), password);
    });
  }

  async screenshot(desktopUid: string): Promise<{ png: Buffer; width: number; height: number }> {
    const { name, subject } = this.paths(desktopUid);
    const info = await this.getGuest(desktopUid);
    if (!isActive(info.state)) throw new FailedPreconditionError(`guest ${name} is ${info.state}; only a running guest has a screen`, 'GUEST_NOT_RUNNING');
    const file = join(tmpdir(), `deskplane-shot-${randomBytes(6).toString('hex')}`);
    try {
      await this.virsh.run(['screenshot', name, '--file', file], { subject });
      const data = await fs.readFile(file);
      if (data.subarray(0, 8).equals(PNG_SIGNATURE)) return { png: data, ...pngSize(data) };
      if (data.toString('latin1', 0, 2) === 'P6') {
        const img = parsePpm(data);
        return { png: encodePng(img), width: img.width, height: img.height };
      }
      throw new InternalError(`screenshot of ${name} came back in an unknown format (first bytes ${data.subarray(0, 8).toString('hex')})`);
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  async migrateGuest(desktopUid: string, opts: MigrationOptions, onProgress: (s: MigrationStats) => void): Promise<MigrationStats> {
    const { name } = this.paths(desktopUid);
    if (this.migrations.isRunning(desktopUid)) return this.migrations.migrate(desktopUid, name, opts, onProgress); // throws AbortedError
    const info = await this.getGuest(desktopUid);
    if (!isActive(info.state)) throw new FailedPreconditionError(`guest ${name} is ${info.state}; only a running guest can be live-migrated`, 'GUEST_NOT_RUNNING');
    if (opts.destinationUri === this.config.libvirtUri) {
      throw new FailedPreconditionError(`guest ${name} already runs on ${opts.destinationUri}; pick another destination`, 'SAME_HOST');
    }
    return this.migrations.migrate(desktopUid, name, opts, onProgress);
  }

  setMigrationBandwidth(desktopUid: string, bandwidthMiBps: number): Promise<MigrationStats> {
    return this.migrations.setBandwidth(desktopUid, bandwidthMiBps);
  }

  abortMigration(desktopUid: string): Promise<boolean> {
    return this.migrations.abort(desktopUid);
  }

  watchEvents(onEvent: (e: DomainEvent) => void): EventSubscription {
    return this.events.subscribe(onEvent);
  }

  /** Aborts migrations still running from here and stops the event stream. */
  async close(): Promise<void> {
    await this.migrations.abortAll();
    await this.events.close();
  }

  private paths(desktopUid: string): { name: string; diskPath: string; serialLogPath: string; subject: string } {
    const name = domainNameFor(desktopUid);
    return {
      name,
      diskPath: join(this.config.storageDir, `${name}.qcow2`),
      serialLogPath: join(this.config.storageDir, `${name}.serial.log`),
      subject: `guest ${name}`,
    };
  }

  /** Live (if running) and persistent SPICE password: update-device with libvirt's own element. */
  private async applyPassword(name: string, password: string): Promise<void> {
    const subject = `guest ${name}`;
    const [liveXml, stateOut] = await Promise.all([
      this.virsh.run(['dumpxml', '--security-info', name], { subject }),
      this.virsh.run(['domstate', name], { subject }),
    ]);
    const live = parseDomainXml(liveXml).spiceGraphics;
    if (!live) throw new FailedPreconditionError(`guest ${name} has no SPICE graphics device`, 'NO_SPICE');
    if (isActive(parseDomState(stateOut).state)) {
      await this.virsh.run(['update-device', name, INPUT_FILE, '--live'], { input: withPassword(live, password), subject });
    }
    // The persistent element differs from the live one (no port, no listen address).
    const persistent = parseDomainXml(await this.virsh.run(['dumpxml', '--inactive', '--security-info', name], { subject })).spiceGraphics;
    if (!persistent) throw new FailedPreconditionError(`guest ${name} has no SPICE graphics device in its definition`, 'NO_SPICE');
    await this.virsh.run(['update-device', name, INPUT_FILE, '--config'], { input: withPassword(persistent, password), subject });
    this.log('info', 'console password changed', { domain: name });
  }

  /** Runs fn after every earlier call for the same guest has finished. */
  private locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }
}

const isActive = (s: GuestInfo['state']): boolean => s === 'running' || s === 'paused' || s === 'shutting_down';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "not running" / "already stopped" answers are success for stop and destroy. */
function ignoreStateErrors(err: unknown): void {
  if (err instanceof FailedPreconditionError || err instanceof NotFoundError) return;
  throw err;
}
