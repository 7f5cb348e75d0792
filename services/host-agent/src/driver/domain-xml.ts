import { createHash } from 'node:crypto';
import type { GoldenImage, GuestDefinition, ImageCompression, StreamingMode } from './types';

/**
 * Domain XML for a Deskplane guest, built by pure per-device functions (KubeVirt's
 * converter shape). Nothing here touches libvirt or the filesystem; domain-xml.test.ts
 * checks whole documents.
 */

/** Our metadata namespace: a domain without `<deskplane:guest>` is foreign and never touched. */
export const DESKPLANE_XMLNS = 'https://deskplane.io/xmlns/guest/v1';
export const DOMAIN_PREFIX = 'dp-';

export const domainNameFor = (desktopUid: string): string => `${DOMAIN_PREFIX}${desktopUid}`;

/** The uid in a Deskplane domain name, or undefined for any other name. */
export function desktopUidOf(domainName: string): string | undefined {
  return domainName.startsWith(DOMAIN_PREFIX) ? domainName.slice(DOMAIN_PREFIX.length) : undefined;
}

export interface DomainXmlInput {
  def: GuestDefinition;
  image: GoldenImage;
  domainType: 'kvm' | 'qemu';
  /** `<storageDir>/<domainName>.qcow2` */
  diskPath: string;
  /** `<storageDir>/<domainName>.serial.log` */
  serialLogPath: string;
}

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
const e = escapeXml;

/** Bytes → KiB, rounded up (libvirt's unit for memory). */
export const kib = (bytes: bigint): bigint => (bytes + 1023n) / 1024n;

/** What the metadata records about the guest. specHash lets ensureGuest tell "same" from "changed". */
export interface GuestMetadata {
  desktopUid: string;
  goldenImage: string;
  diskPath: string;
  serialLogPath: string;
  specHash: string;
}

export function metadataXml(m: GuestMetadata): string {
  return `  <metadata>
    <deskplane:guest xmlns:deskplane='${DESKPLANE_XMLNS}'>
      <deskplane:desktopUid>${e(m.desktopUid)}</deskplane:desktopUid>
      <deskplane:goldenImage>${e(m.goldenImage)}</deskplane:goldenImage>
      <deskplane:disk>${e(m.diskPath)}</deskplane:disk>
      <deskplane:serialLog>${e(m.serialLogPath)}</deskplane:serialLog>
      <deskplane:specHash>${e(m.specHash)}</deskplane:specHash>
    </deskplane:guest>
  </metadata>
`;
}

/** `<os>`: direct kernel boot when the golden image carries boot info, else its own bootloader. */
export function osXml(image: GoldenImage): string {
  const boot = image.boot
    ? `    <kernel>${e(image.boot.kernel)}</kernel>
    <initrd>${e(image.boot.initrd)}</initrd>
    <cmdline>${e(image.boot.cmdline)}</cmdline>
`
    : `    <boot dev='hd'/>
`;
  return `  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
${boot}  </os>
`;
}

/** host-model under KVM (migratable across like hosts); TCG keeps libvirt's default model. */
export function cpuXml(domainType: 'kvm' | 'qemu'): string {
  return domainType === 'kvm' ? `  <cpu mode='host-model'/>\n` : '';
}

export function diskXml(diskPath: string): string {
  return `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
      <source file='${e(diskPath)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
`;
}

/**
 * Serial console into a file in the (shared) storage dir; append='on' so the log survives a
 * restart and a migration keeps writing the same file.
 */
export function serialXml(serialLogPath: string): string {
  return `    <serial type='file'>
      <source path='${e(serialLogPath)}' append='on'/>
      <target port='0'/>
    </serial>
`;
}

/**
 * SPICE with a password. The listen element has NO address: each host's qemu.conf
 * spice_listen applies, so a migrated guest listens on the destination's address without
 * rewriting the XML.
 */
export function graphicsXml(spice: { password: string; imageCompression: ImageCompression; streamingMode: StreamingMode }): string {
  return `    <graphics type='spice' autoport='yes' passwd='${e(spice.password)}'>
      <listen type='address'/>
      <image compression='${e(spice.imageCompression)}'/>
      <streaming mode='${e(spice.streamingMode)}'/>
    </graphics>
`;
}

export function videoXml(): string {
  return `    <video>
      <model type='qxl' heads='1'/>
    </video>
`;
}

const PASSWORD_PLACEHOLDER = '\u0000password\u0000';

/** The whole domain document. */
export function buildDomainXml(input: DomainXmlInput): string {
  const withoutHash = assemble(input, '', PASSWORD_PLACEHOLDER);
  return assemble(input, specHashOf(withoutHash), input.def.spice.password);
}

/**
 * Hash of the document with the password left out (a password change is applied live, not
 * by a redefine) and without the hash itself.
 */
export function specHashOf(xmlWithoutHash: string): string {
  return createHash('sha256').update(xmlWithoutHash).digest('hex').slice(0, 16);
}

function assemble(input: DomainXmlInput, specHash: string, password: string): string {
  const { def, image, domainType } = input;
  const name = domainNameFor(def.desktopUid);
  return `<domain type='${domainType}'>
  <name>${e(name)}</name>
  <uuid>${e(def.desktopUid)}</uuid>
  <title>${e(def.displayName.replace(/[\r\n]+/g, ' '))}</title>
${metadataXml({ desktopUid: def.desktopUid, goldenImage: image.name, diskPath: input.diskPath, serialLogPath: input.serialLogPath, specHash })}  <memory unit='KiB'>${kib(def.memoryBytes)}</memory>
  <vcpu>${def.vcpus}</vcpu>
${osXml(image)}  <features>
    <acpi/>
  </features>
${cpuXml(domainType)}  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
${diskXml(input.diskPath)}${serialXml(input.serialLogPath)}${graphicsXml({ ...def.spice, password })}${videoXml()}    <memballoon model='none'/>
  </devices>
</domain>
`;
}
