/**
 * The contract between the host agent's gRPC service and the code that drives libvirt.
 * Everything that touches libvirt, qemu-img or guest files is behind HostDriver; the
 * service layer validates requests, accounts capacity, keeps the event log and maps
 * errors (see ../errors.ts) to gRPC codes.
 */

export type Hypervisor = 'kvm' | 'qemu-tcg';

export interface NodeInfo {
  hostname: string;
  hypervisor: Hypervisor;
  /** Physical CPUs and memory libvirt reports for the node. */
  cpus: number;
  memoryBytes: bigint;
  /** Size and free space of the filesystem holding guest disks. */
  diskCapacityBytes: bigint;
  diskFreeBytes: bigint;
  libvirtVersion: string;
  qemuVersion: string;
}

export interface GoldenImage {
  name: string;
  /** qcow2 (or raw) base image; never written to. */
  path: string;
  virtualSizeBytes: bigint;
  /** Direct kernel boot, for images that carry no bootloader (the testbed's busybox guest). */
  boot?: { kernel: string; initrd: string; cmdline: string };
}

export type ImageCompression = 'auto_glz' | 'auto_lz' | 'quic' | 'glz' | 'lz' | 'off';
export type StreamingMode = 'filter' | 'all' | 'off';

/** A validated guest spec (the service layer has checked ranges and formats). */
export interface GuestDefinition {
  /** The VirtualDesktop's uid: a lowercase RFC 4122 UUID. Domain name = `dp-<uid>`. */
  desktopUid: string;
  displayName: string;
  vcpus: number;
  memoryBytes: bigint;
  /** Virtual size of the overlay; at least the golden image's virtual size. */
  diskBytes: bigint;
  goldenImage: string;
  spice: {
    /** 1–59 bytes; never logged. */
    password: string;
    imageCompression: ImageCompression;
    streamingMode: StreamingMode;
  };
}

export type GuestState = 'defined' | 'running' | 'paused' | 'shutting_down' | 'shutoff' | 'crashed';

export interface GuestInfo {
  desktopUid: string;
  domainName: string;
  state: GuestState;
  /** libvirt's reason for the state, lowercased: "booted", "destroyed", "crashed", "migrated", … */
  stateReason: string;
  /** SPICE port on the host's console address; 0 when not running. */
  spicePort: number;
  vcpus: number;
  memoryBytes: bigint;
  diskPath: string;
  goldenImage: string;
}

export type DomainEventType = 'started' | 'stopped' | 'crashed' | 'migrated_in' | 'migrated_out';

export interface DomainEvent {
  desktopUid: string;
  domainName: string;
  type: DomainEventType;
  /** libvirt's event and detail, e.g. "Stopped Failed". */
  detail: string;
  time: Date;
}

export interface MigrationOptions {
  /** libvirt URI the SOURCE libvirtd uses to reach the destination (peer-to-peer). */
  destinationUri: string;
  /** The destination host's console/migration address. */
  destinationAddress: string;
  /** spice://host:port clients are sent to; undefined = the destination itself. */
  graphicsUri?: string;
  /** MiB/s; 0 = unlimited. */
  bandwidthMiBps: number;
  autoConverge: boolean;
  postCopy: boolean;
  postCopyAfterSeconds: number;
  /** 0 = none. */
  completionTimeoutSeconds: number;
  /** 0 = libvirt default. */
  maxDowntimeMs: number;
}

export type MigrationPhase = 'starting' | 'migrating' | 'post_copy' | 'succeeded' | 'failed' | 'aborted';

export interface MigrationStats {
  phase: MigrationPhase;
  bytesProcessed: bigint;
  bytesRemaining: bigint;
  bytesTotal: bigint;
  bandwidthMiBps: number;
  elapsedMs: number;
  /** Known once the migration has ended. */
  downtimeMs?: number;
  /** Why it failed or was aborted, in libvirt's words. */
  message?: string;
}

export interface EventSubscription {
  close(): void;
}

export interface HostDriver {
  nodeInfo(): Promise<NodeInfo>;
  listGoldenImages(): Promise<GoldenImage[]>;
  /**
   * Creates the overlay disk and defines the domain when missing; returns the guest as it
   * is. Calling it again with the same definition changes nothing. Throws
   * FailedPreconditionError for an unknown golden image and AlreadyExistsError when a
   * domain of that name exists without Deskplane's metadata. On failure nothing is left
   * behind (no half-made overlay, no domain).
   */
  ensureGuest(def: GuestDefinition): Promise<GuestInfo>;
  /** Starts it; already running is fine. NotFoundError when it is not defined. */
  startGuest(desktopUid: string): Promise<GuestInfo>;
  /** ACPI shutdown, then forced off after timeoutMs; already off is fine. */
  stopGuest(desktopUid: string, timeoutMs: number): Promise<GuestInfo>;
  /** Destroys and undefines the domain and removes its disk and logs; false when there was nothing. */
  deleteGuest(desktopUid: string): Promise<boolean>;
  /** NotFoundError when the host has no such guest. */
  getGuest(desktopUid: string): Promise<GuestInfo>;
  /** Deskplane's guests only (domains with our metadata). */
  listGuests(): Promise<GuestInfo[]>;
  /** Changes the password live and in the persistent definition. */
  setConsolePassword(desktopUid: string, password: string): Promise<void>;
  screenshot(desktopUid: string): Promise<{ png: Buffer; width: number; height: number }>;
  /**
   * Live peer-to-peer migration. Calls onProgress about twice a second while it runs and
   * resolves with the final stats (phase succeeded, failed or aborted — it does not throw
   * for a failed migration, only for a call that could not start one).
   */
  migrateGuest(desktopUid: string, opts: MigrationOptions, onProgress: (s: MigrationStats) => void): Promise<MigrationStats>;
  /** FailedPreconditionError when no migration of that guest runs. */
  setMigrationBandwidth(desktopUid: string, bandwidthMiBps: number): Promise<MigrationStats>;
  /** False when no migration was running. */
  abortMigration(desktopUid: string): Promise<boolean>;
  /** Lifecycle events of Deskplane's guests; the listener reconnects by itself if libvirtd restarts. */
  watchEvents(onEvent: (e: DomainEvent) => void): EventSubscription;
  close(): Promise<void>;
}

export interface DriverConfig {
  /** libvirt connection URI, e.g. qemu:///system or qemu+unix:///system?socket=… */
  libvirtUri: string;
  /** This host's address for guests' SPICE and incoming migration (what clients dial). */
  consoleAddress: string;
  /** Where guest overlays and serial logs live. Must be the same path on every host that
   * migrates guests to this one (shared storage). */
  storageDir: string;
  /** `<name>.qcow2` golden images, each with an optional `<name>.boot.json` ({kernel, initrd, cmdline}). */
  goldenImagesDir: string;
  /** libvirt cannot tell that storageDir is shared (e.g. one local fs seen by several
   * simulated hosts); true lets migration proceed anyway (virsh migrate --unsafe). */
  assumeSharedStorage: boolean;
  /** Domain type: 'kvm' where /dev/kvm works, 'qemu' (TCG) otherwise; undefined = detect. */
  domainType?: 'kvm' | 'qemu';
  /** Upper bound for one libvirt call (not a migration). */
  callTimeoutMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}
