import { describe, expect, it } from 'vitest';
import { parseDomainXml, parseDomState, parseMetadata, withPassword } from './domain-parse';

// Trimmed from `virsh dumpxml --security-info` of a running testbed guest (libvirt 9.0).
const LIVE = `<domain type='qemu' id='1'>
  <name>dp-11111111-1111-4111-8111-111111111111</name>
  <uuid>11111111-1111-4111-8111-111111111111</uuid>
  <title>Exp &amp; desk</title>
  <metadata xmlns:deskplane="https://deskplane.io/xmlns/guest/v1">
    <deskplane:guest>
      <deskplane:desktopUid>11111111-1111-4111-8111-111111111111</deskplane:desktopUid>
      <deskplane:goldenImage>busybox</deskplane:goldenImage>
      <deskplane:disk>/srv/dp-1.qcow2</deskplane:disk>
      <deskplane:serialLog>/srv/dp-1.serial.log</deskplane:serialLog>
      <deskplane:specHash>0123456789abcdef</deskplane:specHash>
    </deskplane:guest>
  </metadata>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/srv/dp-1.qcow2' index='1'/>
      <backingStore type='file' index='2'>
        <format type='qcow2'/>
        <source file='/srv/golden.qcow2'/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <graphics type='spice' port='5900' autoport='yes' listen='127.0.1.1' passwd='secret&apos;1'>
      <listen type='address' address='127.0.1.1'/>
      <image compression='auto_glz'/>
      <streaming mode='filter'/>
    </graphics>
  </devices>
</domain>
`;

describe('parseDomainXml', () => {
  it('reads a live domain', () => {
    expect(parseDomainXml(LIVE)).toEqual({
      name: 'dp-11111111-1111-4111-8111-111111111111',
      uuid: '11111111-1111-4111-8111-111111111111',
      vcpus: 1,
      memoryKiB: 262144n,
      metadata: {
        desktopUid: '11111111-1111-4111-8111-111111111111',
        goldenImage: 'busybox',
        diskPath: '/srv/dp-1.qcow2',
        serialLogPath: '/srv/dp-1.serial.log',
        specHash: '0123456789abcdef',
      },
      spiceGraphics: expect.stringMatching(/^<graphics type='spice' port='5900'[\s\S]*<\/graphics>$/) as string,
      spicePort: 5900,
      spicePassword: "secret'1",
      diskPath: '/srv/dp-1.qcow2',
    });
  });
  it('a domain without our metadata is foreign', () => {
    const foreign = `<domain type='qemu'><name>dp-x</name><metadata><other:thing xmlns:other="urn:x"/></metadata></domain>`;
    expect(parseDomainXml(foreign).metadata).toBeUndefined();
    expect(parseMetadata(`<domain><name>x</name></domain>`)).toBeUndefined();
  });
  it('an inactive domain has no port (autoport)', () => {
    expect(parseDomainXml(LIVE.replace(" port='5900'", '')).spicePort).toBe(0);
    expect(parseDomainXml(LIVE.replace("port='5900'", "port='-1'")).spicePort).toBe(0);
  });
});

describe('withPassword', () => {
  const el = parseDomainXml(LIVE).spiceGraphics!;
  it('replaces the password, escaped, and keeps the rest', () => {
    const out = withPassword(el, `n<e>w'"&`);
    expect(out).toContain(`passwd='n&lt;e&gt;w&apos;&quot;&amp;'`);
    expect(out.replace(/passwd='[^']*'/, '')).toBe(el.replace(/passwd='[^']*'/, ''));
  });
  it('adds one where there was none', () => {
    expect(withPassword(`<graphics type='spice' autoport='yes'>\n</graphics>`, 'p')).toBe(`<graphics passwd='p' type='spice' autoport='yes'>\n</graphics>`);
  });
});

describe('parseDomState', () => {
  it.each([
    ['running (booted)', 'running', 'booted'],
    ['running (migrated)', 'running', 'migrated'],
    ['paused (migration)', 'paused', 'migration'],
    ['paused (post-copy)', 'paused', 'post-copy'],
    ['in shutdown (user)', 'shutting_down', 'user'],
    ['shut off (unknown)', 'defined', 'unknown'],
    ['shut off (destroyed)', 'shutoff', 'destroyed'],
    ['shut off (shutdown)', 'shutoff', 'shutdown'],
    ['shut off (crashed)', 'crashed', 'crashed'],
    ['shut off (failed)', 'crashed', 'failed'],
    ['crashed (panicked)', 'crashed', 'panicked'],
    ['running\n', 'running', ''],
  ])('%j → %s (%s)', (out, state, reason) => {
    expect(parseDomState(out)).toEqual({ state, reason });
  });
});
