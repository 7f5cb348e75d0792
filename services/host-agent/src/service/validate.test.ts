import { hostAgent } from '@deskplane/grpc-contracts';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors';
import { validateDesktopUid, validateGuestSpec, validateMigrate, validateSetConsolePassword, validateSetMigrationBandwidth, validateStop } from './validate';

const MiB = 1024n * 1024n;
const UID = '3f2b8c1e-9d4a-4b6f-8e2a-1c5d7e9f0a1b';

const spec = (over: Partial<hostAgent.GuestSpec> = {}, spice: Partial<hostAgent.SpiceSettings> = {}): hostAgent.GuestSpec => ({
  desktopUid: UID,
  displayName: 'Alice desktop',
  vcpus: 2,
  memoryBytes: 2048n * MiB,
  diskBytes: 20n * 1024n * MiB,
  goldenImage: 'win11-23h2',
  spice: { password: 'hunter2-abc', imageCompression: 0, streamingMode: 0, ...spice },
  ...over,
});

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected InvalidArgumentError');
}

describe('validateGuestSpec', () => {
  it('maps a good spec, UNSPECIFIED enums to the defaults', () => {
    expect(validateGuestSpec(spec())).toEqual({
      desktopUid: UID,
      displayName: 'Alice desktop',
      vcpus: 2,
      memoryBytes: 2048n * MiB,
      diskBytes: 20n * 1024n * MiB,
      goldenImage: 'win11-23h2',
      spice: { password: 'hunter2-abc', imageCompression: 'auto_glz', streamingMode: 'filter' },
    });
  });

  it('maps every enum value', () => {
    const C = hostAgent.ImageCompression;
    const S = hostAgent.StreamingMode;
    const pairs: [number, string][] = [[C.IMAGE_COMPRESSION_AUTO_LZ, 'auto_lz'], [C.IMAGE_COMPRESSION_QUIC, 'quic'], [C.IMAGE_COMPRESSION_GLZ, 'glz'], [C.IMAGE_COMPRESSION_LZ, 'lz'], [C.IMAGE_COMPRESSION_OFF, 'off']];
    for (const [n, name] of pairs) expect(validateGuestSpec(spec({}, { imageCompression: n })).spice.imageCompression).toBe(name);
    expect(validateGuestSpec(spec({}, { streamingMode: S.STREAMING_MODE_ALL })).spice.streamingMode).toBe('all');
    expect(validateGuestSpec(spec({}, { streamingMode: S.STREAMING_MODE_OFF })).spice.streamingMode).toBe('off');
  });

  it('accepts the edges', () => {
    expect(validateGuestSpec(spec({ vcpus: 64, memoryBytes: 64n * MiB, diskBytes: 1n, goldenImage: '0' })).vcpus).toBe(64);
    expect(validateGuestSpec(spec({}, { password: 'x'.repeat(59) })).spice.password).toHaveLength(59);
    expect(validateGuestSpec(spec({}, { password: ' ~!' })).spice.password).toBe(' ~!');
  });

  const table: [string, hostAgent.GuestSpec | undefined, string][] = [
    ['no spec', undefined, 'spec is required'],
    ['empty uid', spec({ desktopUid: '' }), 'spec.desktop_uid is required'],
    ['uppercase uid', spec({ desktopUid: UID.toUpperCase() }), 'spec.desktop_uid must be a lowercase RFC 4122 UUID'],
    ['not a uuid', spec({ desktopUid: 'desk-1' }), 'got "desk-1"'],
    ['control char in display name', spec({ displayName: 'a\nb' }), 'spec.display_name must not contain control characters'],
    ['long display name', spec({ displayName: 'x'.repeat(257) }), 'spec.display_name must be at most 256 characters, got 257'],
    ['zero vcpus', spec({ vcpus: 0 }), 'spec.vcpus must be between 1 and 64, got 0'],
    ['65 vcpus', spec({ vcpus: 65 }), 'spec.vcpus must be between 1 and 64, got 65'],
    ['zero memory', spec({ memoryBytes: 0n }), 'spec.memory_bytes must be at least 64 MiB, got 0'],
    ['63 MiB', spec({ memoryBytes: 63n * MiB }), 'spec.memory_bytes must be at least 64 MiB, got 63 MiB'],
    ['not whole MiB', spec({ memoryBytes: 100n * MiB + 1n }), 'spec.memory_bytes must be a multiple of 1 MiB (1048576), got 104857601'],
    ['huge memory', spec({ memoryBytes: 5n * 1024n * 1024n * MiB }), 'spec.memory_bytes must be at most 4 TiB'],
    ['zero disk', spec({ diskBytes: 0n }), 'spec.disk_bytes must be greater than 0'],
    ['huge disk', spec({ diskBytes: 65n * 1024n * 1024n * MiB }), 'spec.disk_bytes must be at most 64 TiB'],
    ['no golden image', spec({ goldenImage: '' }), 'spec.golden_image is required'],
    ['golden image with slash', spec({ goldenImage: '../etc' }), 'spec.golden_image must match [a-z0-9][a-z0-9._-]*'],
    ['golden image uppercase', spec({ goldenImage: 'Win11' }), 'got "Win11"'],
    ['golden image leading dot', spec({ goldenImage: '.hidden' }), 'spec.golden_image must match'],
    ['no spice', spec({ spice: undefined }), 'spec.spice is required'],
    ['empty password', spec({}, { password: '' }), 'spec.spice.password is required'],
    ['60-byte password', spec({}, { password: 'x'.repeat(60) }), 'spec.spice.password must be at most 59 bytes (spice-server compares no more), got 60'],
    ['non-ASCII password', spec({}, { password: 'pässword' }), 'spec.spice.password must be printable ASCII; character 2 is not'],
    ['control char in password', spec({}, { password: 'abc\tdef' }), 'spec.spice.password must be printable ASCII; character 4 is not'],
    ['unknown compression', spec({}, { imageCompression: 42 as hostAgent.ImageCompression }), 'spec.spice.image_compression has unknown value 42'],
    ['unknown streaming mode', spec({}, { streamingMode: -1 as hostAgent.StreamingMode }), 'spec.spice.streaming_mode has unknown value -1'],
  ];
  it.each(table)('%s → INVALID_ARGUMENT', (_name, s, message) => {
    expect(invalid(() => validateGuestSpec(s))).toContain(message);
  });

  it('never quotes the password in a message', () => {
    for (const password of ['sëcret-value', `${'s'.repeat(60)}`, 'secret\u0001value']) {
      expect(invalid(() => validateGuestSpec(spec({}, { password })))).not.toContain('secret');
    }
  });
});

describe('other requests', () => {
  it('desktop uid', () => {
    expect(validateDesktopUid(UID)).toBe(UID);
    expect(invalid(() => validateDesktopUid(''))).toBe('desktop_uid is required');
  });

  it('stop timeout: 0 → 60 s, at most 600', () => {
    expect(validateStop({ desktopUid: UID, timeoutSeconds: 0 })).toEqual({ desktopUid: UID, timeoutMs: 60_000 });
    expect(validateStop({ desktopUid: UID, timeoutSeconds: 600 }).timeoutMs).toBe(600_000);
    expect(invalid(() => validateStop({ desktopUid: UID, timeoutSeconds: 601 }))).toContain('timeout_seconds must be at most 600');
  });

  it('console password', () => {
    expect(validateSetConsolePassword({ desktopUid: UID, password: 'new-one' }).password).toBe('new-one');
    expect(invalid(() => validateSetConsolePassword({ desktopUid: UID, password: '' }))).toContain('password is required');
  });

  it('bandwidth', () => {
    expect(validateSetMigrationBandwidth({ desktopUid: UID, bandwidthMibPerSecond: 0n }).bandwidthMiBps).toBe(0);
    expect(invalid(() => validateSetMigrationBandwidth({ desktopUid: UID, bandwidthMibPerSecond: 100_001n }))).toContain('bandwidth_mib_per_second must be at most 100000');
  });
});

describe('validateMigrate', () => {
  const req = (over: Partial<hostAgent.MigrateGuestRequest> = {}, policy: Partial<hostAgent.MigrationPolicy> = {}): hostAgent.MigrateGuestRequest => ({
    desktopUid: UID,
    destinationMigrationUri: 'qemu+unix:///system?socket=/run/h2/libvirt-sock',
    destinationAddress: '127.0.1.2',
    graphicsUri: '',
    policy: { ...hostAgent.MigrationPolicy.create(), ...policy },
    ...over,
  });

  it('maps a good request', () => {
    expect(validateMigrate(req({ graphicsUri: 'spice://gw.example:5900' }, { bandwidthMibPerSecond: 100n, autoConverge: true, postCopy: true, postCopyAfterSeconds: 10, completionTimeoutSeconds: 60, maxDowntimeMs: 300 }))).toEqual({
      desktopUid: UID,
      options: {
        destinationUri: 'qemu+unix:///system?socket=/run/h2/libvirt-sock',
        destinationAddress: '127.0.1.2',
        graphicsUri: 'spice://gw.example:5900',
        bandwidthMiBps: 100,
        autoConverge: true,
        postCopy: true,
        postCopyAfterSeconds: 10,
        completionTimeoutSeconds: 60,
        maxDowntimeMs: 300,
      },
    });
    expect(validateMigrate(req({ policy: undefined })).options.graphicsUri).toBeUndefined();
  });

  const table: [string, hostAgent.MigrateGuestRequest, string][] = [
    ['no uri', req({ destinationMigrationUri: '' }), 'destination_migration_uri is required'],
    ['uri without scheme', req({ destinationMigrationUri: 'host-2' }), 'destination_migration_uri must be a libvirt URI'],
    ['no address', req({ destinationAddress: '' }), 'destination_address is required'],
    ['address with port', req({ destinationAddress: 'host-2:5900' }), 'destination_address must be a host name or IP address without a port'],
    ['bad graphics uri', req({ graphicsUri: 'vnc://gw:5900' }), 'graphics_uri must look like spice://host:port'],
    ['graphics port 0', req({ graphicsUri: 'spice://gw:0' }), 'graphics_uri must look like spice://host:port'],
    ['bandwidth', req({}, { bandwidthMibPerSecond: 1_000_000n }), 'policy.bandwidth_mib_per_second must be at most 100000'],
    ['post-copy-after without post-copy', req({}, { postCopyAfterSeconds: 5 }), 'policy.post_copy_after_seconds is set but policy.post_copy is false'],
    ['post-copy after completion', req({}, { postCopy: true, postCopyAfterSeconds: 60, completionTimeoutSeconds: 30 }), 'must be less than policy.completion_timeout_seconds'],
    ['completion timeout', req({}, { completionTimeoutSeconds: 86_401 }), 'policy.completion_timeout_seconds must be at most 86400'],
    ['downtime', req({}, { maxDowntimeMs: 60_001 }), 'policy.max_downtime_ms must be at most 60000'],
  ];
  it.each(table)('%s → INVALID_ARGUMENT', (_name, r, message) => {
    expect(invalid(() => validateMigrate(r))).toContain(message);
  });
});
