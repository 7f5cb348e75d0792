import { describe, expect, it } from 'vitest';
import { migrateArgs } from './migration';
import { parseNodeInfo, parseVersion } from './host-info';

describe('node info parsers (captured from libvirt 9.0)', () => {
  it('nodeinfo', () => {
    const out = `CPU model:           x86_64
CPU(s):              2
CPU frequency:       2596 MHz
CPU socket(s):       1
Core(s) per socket:  2
Thread(s) per core:  1
NUMA cell(s):        1
Memory size:         11102424 KiB
`;
    expect(parseNodeInfo(out)).toEqual({ cpus: 2, memoryBytes: 11102424n * 1024n });
  });
  it('version', () => {
    const out = `Compiled against library: libvirt 9.0.0
Using library: libvirt 9.0.0
Using API: QEMU 9.0.0
Running hypervisor: QEMU 7.2.22
`;
    expect(parseVersion(out)).toEqual({ libvirtVersion: '9.0.0', qemuVersion: '7.2.22' });
  });
});

describe('migrateArgs', () => {
  const base = {
    destinationUri: 'qemu+tls://h2/system',
    destinationAddress: '10.0.0.2',
    bandwidthMiBps: 0,
    autoConverge: false,
    postCopy: false,
    postCopyAfterSeconds: 0,
    completionTimeoutSeconds: 0,
    maxDowntimeMs: 0,
  };
  it('plain live p2p migration', () => {
    expect(migrateArgs('dp-1', base, false)).toEqual([
      'migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--verbose',
      'dp-1', 'qemu+tls://h2/system', '--migrateuri', 'tcp://10.0.0.2',
    ]);
  });
  it('every option', () => {
    expect(migrateArgs('dp-1', { ...base, bandwidthMiBps: 5, autoConverge: true, postCopy: true, graphicsUri: 'spice://gw:5900' }, true)).toEqual([
      'migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--verbose',
      '--unsafe', '--auto-converge', '--postcopy', '--bandwidth', '5', '--graphicsuri', 'spice://gw:5900',
      'dp-1', 'qemu+tls://h2/system', '--migrateuri', 'tcp://10.0.0.2',
    ]);
  });
});
