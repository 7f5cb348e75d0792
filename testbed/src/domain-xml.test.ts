import { describe, expect, it } from 'vitest';
import { buildTestDomainXml, escapeXml, type TestGuestSpec } from './domain-xml';
import { hostUuidFor, qemuConf } from './libvirt-config';

const spec: TestGuestSpec = {
  name: 'smoke-1',
  uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
  memoryMiB: 192,
  vcpus: 1,
  kernel: '/cache/vmlinuz',
  initrd: '/cache/initrd.img',
  cmdline: 'console=tty0 console=ttyS0',
  disk: '/state/hosts/host-1/images/smoke-1.qcow2',
  serialLog: '/state/hosts/host-1/images/smoke-1.serial.log',
  spice: { listen: '127.0.1.1', password: `p<&>'"w` },
};

describe('buildTestDomainXml', () => {
  it('builds a TCG domain with kernel boot, serial file, SPICE and QXL', () => {
    const xml = buildTestDomainXml(spec);
    expect(xml).toContain(`<domain type='qemu'>`);
    expect(xml).toContain('<memory unit=\'MiB\'>192</memory>');
    expect(xml).toContain('<kernel>/cache/vmlinuz</kernel>');
    expect(xml).toContain(`<serial type='file'>\n      <source path='${spec.serialLog}'/>`);
    expect(xml).toContain(`<graphics type='spice' autoport='yes' listen='127.0.1.1'`);
    expect(xml).toContain(`<model type='qxl'/>`);
    expect(buildTestDomainXml({ ...spec, domainType: 'kvm' })).toContain(`<domain type='kvm'>`);
  });

  it('escapes values so a password cannot break out of its attribute', () => {
    const xml = buildTestDomainXml(spec);
    expect(xml).toContain(`passwd='p&lt;&amp;&gt;&apos;&quot;w'`);
    expect(escapeXml(`a&b<c>'d"`)).toBe('a&amp;b&lt;c&gt;&apos;d&quot;');
  });

  it('refuses specs libvirt would misread', () => {
    expect(() => buildTestDomainXml({ ...spec, name: '../etc' })).toThrow(/name/);
    expect(() => buildTestDomainXml({ ...spec, uuid: 'nope' })).toThrow(/uuid/);
    expect(() => buildTestDomainXml({ ...spec, disk: 'relative.qcow2' })).toThrow(/disk must be an absolute path/);
    expect(() => buildTestDomainXml({ ...spec, memoryMiB: 1.5 })).toThrow(/memoryMiB/);
  });
});

describe('host config', () => {
  it('derives a stable, well-formed, per-host UUID', () => {
    const a = hostUuidFor('/state/hosts/host-1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(hostUuidFor('/state/hosts/host-1')).toBe(a);
    expect(hostUuidFor('/state/hosts/host-2')).not.toBe(a);
  });

  it('gives each host its own address and port ranges', () => {
    const c = qemuConf({ address: '127.0.1.2', index: 2 });
    expect(c).toContain('spice_listen = "127.0.1.2"');
    expect(c).toContain('migration_address = "127.0.1.2"');
    expect(c).toContain('remote_display_port_min = 6000');
    expect(c).toContain('migration_port_min = 49216');
    expect(c).toContain('stdio_handler = "file"');
  });
});
