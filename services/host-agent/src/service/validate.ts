import { hostAgent } from '@deskplane/grpc-contracts';
import type { GuestDefinition, ImageCompression, MigrationOptions, StreamingMode } from '../driver/types';
import { InvalidArgumentError } from '../errors';

/**
 * Pure request validation: each function turns a decoded gRPC request into the driver's
 * typed input or throws InvalidArgumentError whose message names the field, the rule and
 * the value given (never a password's value).
 */

const MiB = 1024n * 1024n;
const TiB = MiB * 1024n * 1024n;

export const LIMITS = {
  maxVcpus: 64,
  minMemoryBytes: 64n * MiB,
  maxMemoryBytes: 4n * TiB,
  maxDiskBytes: 64n * TiB,
  maxDisplayNameChars: 256,
  maxGoldenImageChars: 128,
  /** spice-server compares no more than 59 bytes of a ticket. */
  maxPasswordBytes: 59,
  defaultStopTimeoutSeconds: 60,
  maxStopTimeoutSeconds: 600,
  /** 100 GiB/s: anything above is a unit mistake. */
  maxBandwidthMiBps: 100_000n,
  maxPostCopyAfterSeconds: 3_600,
  maxCompletionTimeoutSeconds: 86_400,
  maxDowntimeMs: 60_000,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const GOLDEN_IMAGE = /^[a-z0-9][a-z0-9._-]*$/;
// A host name, IPv4 address or bracket-less IPv6 address; no port, no scheme.
const ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/;

const IMAGE_COMPRESSION = new Map<number, ImageCompression>([
  [hostAgent.ImageCompression.IMAGE_COMPRESSION_UNSPECIFIED, 'auto_glz'],
  [hostAgent.ImageCompression.IMAGE_COMPRESSION_AUTO_GLZ, 'auto_glz'],
  [hostAgent.ImageCompression.IMAGE_COMPRESSION_AUTO_LZ, 'auto_lz'],
  [hostAgent.ImageCompression.IMAGE_COMPRESSION_QUIC, 'quic'],
  [hostAgent.ImageCompression.IMAGE_COMPRESSION_GLZ, 'glz'],
  [hostAgent.ImageCompression.IMAGE_COMPRESSION_LZ, 'lz'],
  [hostAgent.ImageCompression.IMAGE_COMPRESSION_OFF, 'off'],
]);

const STREAMING_MODE = new Map<number, StreamingMode>([
  [hostAgent.StreamingMode.STREAMING_MODE_UNSPECIFIED, 'filter'],
  [hostAgent.StreamingMode.STREAMING_MODE_FILTER, 'filter'],
  [hostAgent.StreamingMode.STREAMING_MODE_ALL, 'all'],
  [hostAgent.StreamingMode.STREAMING_MODE_OFF, 'off'],
]);

const fail = (message: string): never => {
  throw new InvalidArgumentError(message);
};

const formatMiB = (bytes: bigint): string => (bytes === 0n ? '0' : bytes % MiB === 0n ? `${bytes / MiB} MiB` : `${bytes} bytes`);

/** The VirtualDesktop uid every guest call is keyed by. */
export function validateDesktopUid(uid: string, field = 'desktop_uid'): string {
  if (uid === '') fail(`${field} is required`);
  if (!UUID.test(uid)) fail(`${field} must be a lowercase RFC 4122 UUID such as 3f2b8c1e-9d4a-4b6f-8e2a-1c5d7e9f0a1b, got "${truncate(uid)}"`);
  return uid;
}

/**
 * A SPICE password: 1–59 bytes of printable ASCII. The message never quotes the value,
 * only what is wrong with it.
 */
export function validatePassword(password: string, field: string): string {
  if (password.length === 0) fail(`${field} is required (1 to ${LIMITS.maxPasswordBytes} printable ASCII characters)`);
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) fail(`${field} must be printable ASCII; character ${i + 1} is not`);
  }
  // Printable ASCII: one byte per character.
  if (password.length > LIMITS.maxPasswordBytes) {
    fail(`${field} must be at most ${LIMITS.maxPasswordBytes} bytes (spice-server compares no more), got ${password.length}`);
  }
  return password;
}

export function validateGuestSpec(spec: hostAgent.GuestSpec | undefined): GuestDefinition {
  if (!spec) return fail('spec is required');
  const desktopUid = validateDesktopUid(spec.desktopUid, 'spec.desktop_uid');

  const displayName = spec.displayName;
  if (displayName.length > LIMITS.maxDisplayNameChars) {
    fail(`spec.display_name must be at most ${LIMITS.maxDisplayNameChars} characters, got ${displayName.length}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(displayName)) fail('spec.display_name must not contain control characters');

  if (spec.vcpus < 1 || spec.vcpus > LIMITS.maxVcpus) fail(`spec.vcpus must be between 1 and ${LIMITS.maxVcpus}, got ${spec.vcpus}`);

  const memoryBytes = spec.memoryBytes;
  if (memoryBytes < LIMITS.minMemoryBytes) fail(`spec.memory_bytes must be at least 64 MiB, got ${formatMiB(memoryBytes)}`);
  if (memoryBytes % MiB !== 0n) fail(`spec.memory_bytes must be a multiple of 1 MiB (1048576), got ${memoryBytes}`);
  if (memoryBytes > LIMITS.maxMemoryBytes) fail(`spec.memory_bytes must be at most 4 TiB, got ${formatMiB(memoryBytes)}`);

  const diskBytes = spec.diskBytes;
  if (diskBytes <= 0n) fail('spec.disk_bytes must be greater than 0');
  if (diskBytes > LIMITS.maxDiskBytes) fail(`spec.disk_bytes must be at most 64 TiB, got ${diskBytes}`);

  const goldenImage = spec.goldenImage;
  if (goldenImage === '') fail('spec.golden_image is required');
  if (goldenImage.length > LIMITS.maxGoldenImageChars || !GOLDEN_IMAGE.test(goldenImage)) {
    fail(`spec.golden_image must match [a-z0-9][a-z0-9._-]* (at most ${LIMITS.maxGoldenImageChars} characters), got "${truncate(goldenImage)}"`);
  }

  if (!spec.spice) return fail('spec.spice is required (it carries the console password)');
  const password = validatePassword(spec.spice.password, 'spec.spice.password');
  const imageCompression = IMAGE_COMPRESSION.get(spec.spice.imageCompression);
  if (!imageCompression) return fail(`spec.spice.image_compression has unknown value ${spec.spice.imageCompression}`);
  const streamingMode = STREAMING_MODE.get(spec.spice.streamingMode);
  if (!streamingMode) return fail(`spec.spice.streaming_mode has unknown value ${spec.spice.streamingMode}`);

  return {
    desktopUid,
    displayName,
    vcpus: spec.vcpus,
    memoryBytes,
    diskBytes,
    goldenImage,
    spice: { password, imageCompression, streamingMode },
  };
}

export function validateStop(req: hostAgent.StopGuestRequest): { desktopUid: string; timeoutMs: number } {
  const desktopUid = validateDesktopUid(req.desktopUid);
  const seconds = req.timeoutSeconds === 0 ? LIMITS.defaultStopTimeoutSeconds : req.timeoutSeconds;
  if (seconds > LIMITS.maxStopTimeoutSeconds) {
    fail(`timeout_seconds must be at most ${LIMITS.maxStopTimeoutSeconds} (0 = the default ${LIMITS.defaultStopTimeoutSeconds}), got ${req.timeoutSeconds}`);
  }
  return { desktopUid, timeoutMs: seconds * 1000 };
}

export function validateSetConsolePassword(req: hostAgent.SetConsolePasswordRequest): { desktopUid: string; password: string } {
  return { desktopUid: validateDesktopUid(req.desktopUid), password: validatePassword(req.password, 'password') };
}

export function validateBandwidth(value: bigint, field: string): number {
  if (value > LIMITS.maxBandwidthMiBps) fail(`${field} must be at most ${LIMITS.maxBandwidthMiBps} MiB/s (0 = unlimited), got ${value}`);
  return Number(value);
}

export function validateSetMigrationBandwidth(req: hostAgent.SetMigrationBandwidthRequest): { desktopUid: string; bandwidthMiBps: number } {
  return {
    desktopUid: validateDesktopUid(req.desktopUid),
    bandwidthMiBps: validateBandwidth(req.bandwidthMibPerSecond, 'bandwidth_mib_per_second'),
  };
}

export function validateMigrate(req: hostAgent.MigrateGuestRequest): { desktopUid: string; options: MigrationOptions } {
  const desktopUid = validateDesktopUid(req.desktopUid);

  const uri = req.destinationMigrationUri;
  if (uri === '') fail('destination_migration_uri is required (the destination\'s HostInfo.migration_uri)');
  if (!/^[a-z][a-z0-9+.-]*:\/\//.test(uri) || /\s/.test(uri)) {
    fail(`destination_migration_uri must be a libvirt URI such as qemu+tls://host-2/system, got "${truncate(uri)}"`);
  }

  const address = req.destinationAddress;
  if (address === '') fail('destination_address is required (the destination\'s HostInfo.console_address)');
  if (address.length > 253 || !ADDRESS.test(address)) fail(`destination_address must be a host name or IP address without a port, got "${truncate(address)}"`);

  let graphicsUri: string | undefined;
  if (req.graphicsUri !== '') {
    const m = /^spice:\/\/([^/:\s]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(req.graphicsUri);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65_535) {
      fail(`graphics_uri must look like spice://host:port (or be empty for the destination itself), got "${truncate(req.graphicsUri)}"`);
    }
    graphicsUri = req.graphicsUri;
  }

  const p = req.policy ?? hostAgent.MigrationPolicy.create();
  const bandwidthMiBps = validateBandwidth(p.bandwidthMibPerSecond, 'policy.bandwidth_mib_per_second');
  if (!p.postCopy && p.postCopyAfterSeconds !== 0) fail('policy.post_copy_after_seconds is set but policy.post_copy is false');
  if (p.postCopyAfterSeconds > LIMITS.maxPostCopyAfterSeconds) {
    fail(`policy.post_copy_after_seconds must be at most ${LIMITS.maxPostCopyAfterSeconds}, got ${p.postCopyAfterSeconds}`);
  }
  if (p.completionTimeoutSeconds > LIMITS.maxCompletionTimeoutSeconds) {
    fail(`policy.completion_timeout_seconds must be at most ${LIMITS.maxCompletionTimeoutSeconds} (0 = no limit), got ${p.completionTimeoutSeconds}`);
  }
  if (p.postCopy && p.completionTimeoutSeconds !== 0 && p.postCopyAfterSeconds >= p.completionTimeoutSeconds) {
    fail(
      `policy.post_copy_after_seconds (${p.postCopyAfterSeconds}) must be less than policy.completion_timeout_seconds (${p.completionTimeoutSeconds}), or post-copy never starts`,
    );
  }
  if (p.maxDowntimeMs > LIMITS.maxDowntimeMs) fail(`policy.max_downtime_ms must be at most ${LIMITS.maxDowntimeMs} (0 = libvirt's default), got ${p.maxDowntimeMs}`);

  return {
    desktopUid,
    options: {
      destinationUri: uri,
      destinationAddress: address,
      graphicsUri,
      bandwidthMiBps,
      autoConverge: p.autoConverge,
      postCopy: p.postCopy,
      postCopyAfterSeconds: p.postCopyAfterSeconds,
      completionTimeoutSeconds: p.completionTimeoutSeconds,
      maxDowntimeMs: p.maxDowntimeMs,
    },
  };
}

function truncate(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
