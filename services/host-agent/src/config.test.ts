import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, parseListen, parseSize } from './config';

const MiB = 1024n * 1024n;
const base = { DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: '10.0.0.11' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected ConfigError');
}

describe('config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'host-agent-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults', () => {
    expect(parseConfig({}, base)).toEqual({
      hostName: undefined,
      listen: { host: '0.0.0.0', port: 7443 },
      metricsListen: { host: '0.0.0.0', port: 9464 },
      libvirtUri: 'qemu:///system',
      consoleAddress: '10.0.0.11',
      migrationUri: 'qemu:///system',
      storageDir: '/var/lib/deskplane/guests',
      goldenImagesDir: '/var/lib/deskplane/golden',
      assumeSharedStorage: false,
      domainType: undefined,
      capacity: { cpuOvercommit: 4, memoryOvercommit: 1, reservedMemoryBytes: 512n * MiB },
      tls: undefined,
      eventRetention: 10_000,
      logLevel: 'info',
      shutdownGraceMs: 10_000,
    });
  });

  it('reads every variable', () => {
    const c = parseConfig(
      {},
      {
        ...base,
        DESKPLANE_HOST_AGENT_LISTEN: '127.0.0.1:0',
        DESKPLANE_HOST_AGENT_METRICS_LISTEN: 'off',
        DESKPLANE_HOST_AGENT_LIBVIRT_URI: 'qemu+unix:///system?socket=/x',
        DESKPLANE_HOST_AGENT_MIGRATION_URI: 'qemu+tls://h1/system',
        DESKPLANE_HOST_AGENT_ASSUME_SHARED_STORAGE: 'yes',
        DESKPLANE_HOST_AGENT_DOMAIN_TYPE: 'qemu',
        DESKPLANE_HOST_AGENT_CPU_OVERCOMMIT: '2.5',
        DESKPLANE_HOST_AGENT_RESERVED_MEMORY: '1GiB',
        DESKPLANE_HOST_AGENT_CAPACITY_MEMORY: '1.5GiB',
        DESKPLANE_HOST_AGENT_CAPACITY_VCPUS: '16',
        DESKPLANE_HOST_AGENT_TLS_CERT: '/c',
        DESKPLANE_HOST_AGENT_TLS_KEY: '/k',
        DESKPLANE_HOST_AGENT_TLS_CLIENT_CA: '/ca',
        DESKPLANE_HOST_AGENT_EVENT_RETENTION: '500',
      },
    );
    expect(c).toMatchObject({
      listen: { host: '127.0.0.1', port: 0 },
      metricsListen: undefined,
      migrationUri: 'qemu+tls://h1/system',
      assumeSharedStorage: true,
      domainType: 'qemu',
      capacity: { cpuOvercommit: 2.5, reservedMemoryBytes: 1024n * MiB, override: { memoryBytes: 1536n * MiB, vcpus: 16 } },
      tls: { certFile: '/c', keyFile: '/k', clientCaFile: '/ca' },
      eventRetention: 500,
    });
  });

  it('a JSON file under the environment', () => {
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ consoleAddress: '10.0.0.12', listen: '[::]:7000', capacity: { override: { memoryBytes: 2147483648 } }, eventRetention: 7 }));
    const c = loadConfig({ DESKPLANE_HOST_AGENT_CONFIG: file, DESKPLANE_HOST_AGENT_EVENT_RETENTION: '9' });
    expect(c).toMatchObject({ consoleAddress: '10.0.0.12', listen: { host: '::', port: 7000 }, eventRetention: 9, capacity: { override: { memoryBytes: 2n * 1024n * MiB } } });
  });

  const table: [string, Record<string, string>, string, RegExp][] = [
    ['console address missing', {}, 'DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS', /is required/],
    ['console address with port', { ...base, DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS: 'h:1' }, 'DESKPLANE_HOST_AGENT_CONSOLE_ADDRESS', /without scheme or port/],
    ['listen without port', { ...base, DESKPLANE_HOST_AGENT_LISTEN: '0.0.0.0' }, 'DESKPLANE_HOST_AGENT_LISTEN', /must be host:port/],
    ['listen port too big', { ...base, DESKPLANE_HOST_AGENT_LISTEN: ':70000' }, 'DESKPLANE_HOST_AGENT_LISTEN', /must be host:port/],
    ['metrics listen', { ...base, DESKPLANE_HOST_AGENT_METRICS_LISTEN: 'nope' }, 'DESKPLANE_HOST_AGENT_METRICS_LISTEN', /must be host:port/],
    ['boolean', { ...base, DESKPLANE_HOST_AGENT_ASSUME_SHARED_STORAGE: 'maybe' }, 'DESKPLANE_HOST_AGENT_ASSUME_SHARED_STORAGE', /true or false/],
    ['ratio', { ...base, DESKPLANE_HOST_AGENT_CPU_OVERCOMMIT: 'x' }, 'DESKPLANE_HOST_AGENT_CPU_OVERCOMMIT', /number from 0.1 to 64/],
    ['ratio range', { ...base, DESKPLANE_HOST_AGENT_MEMORY_OVERCOMMIT: '0' }, 'DESKPLANE_HOST_AGENT_MEMORY_OVERCOMMIT', /number from 0.1 to 16/],
    ['size with decimal unit', { ...base, DESKPLANE_HOST_AGENT_RESERVED_MEMORY: '512MB' }, 'DESKPLANE_HOST_AGENT_RESERVED_MEMORY', /binary unit/],
    ['vcpus not whole', { ...base, DESKPLANE_HOST_AGENT_CAPACITY_VCPUS: '1.5' }, 'DESKPLANE_HOST_AGENT_CAPACITY_VCPUS', /whole number/],
    ['retention', { ...base, DESKPLANE_HOST_AGENT_EVENT_RETENTION: '0' }, 'DESKPLANE_HOST_AGENT_EVENT_RETENTION', /from 1 to/],
    ['domain type', { ...base, DESKPLANE_HOST_AGENT_DOMAIN_TYPE: 'xen' }, 'DESKPLANE_HOST_AGENT_DOMAIN_TYPE', /one of kvm, qemu, detect/],
    ['log level', { ...base, DESKPLANE_HOST_AGENT_LOG_LEVEL: 'loud' }, 'DESKPLANE_HOST_AGENT_LOG_LEVEL', /one of trace/],
    ['half of TLS', { ...base, DESKPLANE_HOST_AGENT_TLS_CERT: '/c' }, 'DESKPLANE_HOST_AGENT_TLS_KEY', /missing DESKPLANE_HOST_AGENT_TLS_KEY, DESKPLANE_HOST_AGENT_TLS_CLIENT_CA/],
    ['unreadable file', { DESKPLANE_HOST_AGENT_CONFIG: '/nonexistent/agent.json' }, 'DESKPLANE_HOST_AGENT_CONFIG', /cannot read \/nonexistent\/agent.json/],
  ];
  it.each(table)('%s → names %s', (_name, env, variable, message) => {
    const err = configError(() => loadConfig(env));
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('a bad value in the file names the file and the key', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ consoleAddress: '10.0.0.1', capacity: { cpuOvercommit: 'lots' } }));
    expect(configError(() => loadConfig({ DESKPLANE_HOST_AGENT_CONFIG: file })).variable).toBe('DESKPLANE_HOST_AGENT_CONFIG (capacity.cpuOvercommit)');
    writeFileSync(file, '[1]');
    expect(configError(() => loadConfig({ DESKPLANE_HOST_AGENT_CONFIG: file })).message).toMatch(/is not a JSON object/);
  });

  it('sizes and listen addresses', () => {
    expect(parseSize('1048576')).toBe(MiB);
    expect(parseSize('2 GiB')).toBe(2048n * MiB);
    expect(parseSize('0.5MiB')).toBe(MiB / 2n);
    expect(parseSize('1.3B')).toBeUndefined();
    expect(parseSize('2G')).toBeUndefined();
    expect(parseListen('X', ':7443')).toEqual({ host: '0.0.0.0', port: 7443 });
    expect(parseListen('X', '[::1]:1')).toEqual({ host: '::1', port: 1 });
  });
});
