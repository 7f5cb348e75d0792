import { describe, expect, it } from 'vitest';
import { parseDomainXml } from './domain-parse';
import { buildDomainXml, desktopUidOf, domainNameFor, graphicsXml, specHashOf, type DomainXmlInput } from './domain-xml';
import type { GuestDefinition } from './types';

const UID = '6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60';
const DISK = `/srv/guests/dp-${UID}.qcow2`;
const SERIAL = `/srv/guests/dp-${UID}.serial.log`;

const def: GuestDefinition = {
  desktopUid: UID,
  displayName: "Ana's <desk> & co",
  vcpus: 2,
  memoryBytes: 256n * 1024n * 1024n,
  diskBytes: 1n << 30n,
  goldenImage: 'busybox',
  spice: { password: `p'w"<&>`, imageCompression: 'auto_glz', streamingMode: 'filter' },
};

const kernelBoot: DomainXmlInput = {
  def,
  image: {
    name: 'busybox',
    path: '/srv/golden/busybox.qcow2',
    virtualSizeBytes: 64n << 20n,
    boot: { kernel: '/srv/golden/vmlinuz', initrd: '/srv/golden/initrd.img', cmdline: 'console=ttyS0 quiet' },
  },
  domainType: 'qemu',
  diskPath: DISK,
  serialLogPath: SERIAL,
};

// The whole expected document for each case; only the spec hash is filled in (it is a
// function of the document itself, checked separately below).
const expected = (o: { type: string; memoryKiB: string; vcpus: number; os: string; cpu: string; compression: string; streaming: string; title: string; golden: string }): string => `<domain type='${o.type}'>
  <name>dp-${UID}</name>
  <uuid>${UID}</uuid>
  <title>${o.title}</title>
  <metadata>
    <deskplane:guest xmlns:deskplane='https://deskplane.io/xmlns/guest/v1'>
      <deskplane:desktopUid>${UID}</deskplane:desktopUid>
      <deskplane:goldenImage>${o.golden}</deskplane:goldenImage>
      <deskplane:disk>${DISK}</deskplane:disk>
      <deskplane:serialLog>${SERIAL}</deskplane:serialLog>
      <deskplane:specHash>HASH</deskplane:specHash>
    </deskplane:guest>
  </metadata>
  <memory unit='KiB'>${o.memoryKiB}</memory>
  <vcpu>${o.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
${o.os}  </os>
  <features>
    <acpi/>
  </features>
${o.cpu}  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
      <source file='${DISK}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='${SERIAL}' append='on'/>
      <target port='0'/>
    </serial>
    <graphics type='spice' autoport='yes' passwd='p&apos;w&quot;&lt;&amp;&gt;'>
      <listen type='address'/>
      <image compression='${o.compression}'/>
      <streaming mode='${o.streaming}'/>
    </graphics>
    <video>
      <model type='qxl' heads='1'/>
    </video>
    <memballoon model='none'/>
  </devices>
</domain>
`;

const KERNEL_OS = `    <kernel>/srv/golden/vmlinuz</kernel>
    <initrd>/srv/golden/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
`;
const base = { type: 'qemu', memoryKiB: '262144', vcpus: 2, os: KERNEL_OS, cpu: '', compression: 'auto_glz', streaming: 'filter', title: 'Ana&apos;s &lt;desk&gt; &amp; co', golden: 'busybox' };

const cases: { name: string; input: DomainXmlInput; want: string }[] = [
  { name: 'TCG guest with direct kernel boot', input: kernelBoot, want: expected(base) },
  {
    name: 'KVM guest booting its own disk, other SPICE settings, odd memory size rounded up to KiB',
    input: {
      ...kernelBoot,
      domainType: 'kvm',
      def: { ...def, vcpus: 4, memoryBytes: 2n * 1024n ** 3n + 1n, displayName: 'line one\nline two', goldenImage: 'win11', spice: { ...def.spice, imageCompression: 'off', streamingMode: 'all' } },
      image: { name: 'win11', path: '/srv/golden/win11.qcow2', virtualSizeBytes: 40n << 30n },
    },
    want: expected({
      ...base,
      type: 'kvm',
      memoryKiB: '2097153',
      vcpus: 4,
      os: `    <boot dev='hd'/>\n`,
      cpu: `  <cpu mode='host-model'/>\n`,
      compression: 'off',
      streaming: 'all',
      title: 'line one line two',
      golden: 'win11',
    }),
  },
];

describe('buildDomainXml', () => {
  it.each(cases)('$name: the whole document', ({ input, want }) => {
    const xml = buildDomainXml(input);
    const hash = /<deskplane:specHash>([0-9a-f]{16})<\/deskplane:specHash>/.exec(xml)?.[1];
    expect(hash).toBeDefined();
    expect(xml).toBe(want.replace('HASH', hash!));
  });

  it('is pure: same input, same document', () => {
    expect(buildDomainXml(kernelBoot)).toBe(buildDomainXml(structuredClone(kernelBoot)));
  });

  it('spec hash ignores the password and changes with anything else', () => {
    const hash = (i: DomainXmlInput): string | undefined => parseDomainXml(buildDomainXml(i)).metadata?.specHash;
    const h0 = hash(kernelBoot);
    expect(hash({ ...kernelBoot, def: { ...def, spice: { ...def.spice, password: 'other' } } })).toBe(h0);
    expect(hash({ ...kernelBoot, def: { ...def, vcpus: 1 } })).not.toBe(h0);
    expect(hash({ ...kernelBoot, def: { ...def, displayName: 'x' } })).not.toBe(h0);
    expect(hash({ ...kernelBoot, def: { ...def, spice: { ...def.spice, streamingMode: 'off' } } })).not.toBe(h0);
    expect(specHashOf('a')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('graphics has a listen element without an address (qemu.conf spice_listen applies on every host)', () => {
    expect(graphicsXml(def.spice)).toContain(`<listen type='address'/>`);
    expect(graphicsXml(def.spice)).not.toMatch(/listen='|address='/);
  });

  it('reads back what it wrote', () => {
    const parsed = parseDomainXml(buildDomainXml(kernelBoot));
    expect(parsed).toMatchObject({ name: `dp-${UID}`, uuid: UID, vcpus: 2, memoryKiB: 262144n, spicePassword: `p'w"<&>`, diskPath: DISK, spicePort: 0 });
    expect(parsed.metadata).toMatchObject({ desktopUid: UID, goldenImage: 'busybox', diskPath: DISK, serialLogPath: SERIAL });
  });

  it('names domains dp-<uid> and reads the uid back', () => {
    expect(domainNameFor(UID)).toBe(`dp-${UID}`);
    expect(desktopUidOf(`dp-${UID}`)).toBe(UID);
    expect(desktopUidOf('win-server')).toBeUndefined();
  });
});
