import { DESKPLANE_XMLNS, type GuestMetadata } from './domain-xml';
import type { GuestState } from './types';

/**
 * Reads the few things the driver needs back from libvirt's own domain XML (`virsh
 * dumpxml`). libvirt writes a canonical form (single-quoted attributes, one element per
 * line), so small anchored patterns are enough; nothing here is used on untrusted input.
 */

export interface ParsedDomain {
  name: string;
  uuid: string;
  vcpus: number;
  memoryKiB: bigint;
  /** Our metadata, or undefined for a foreign domain. */
  metadata?: GuestMetadata;
  /** The `<graphics type='spice' …>…</graphics>` element as libvirt wrote it. */
  spiceGraphics?: string;
  /** Live XML only: the SPICE port QEMU listens on. */
  spicePort: number;
  spicePassword?: string;
  diskPath?: string;
}

export function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_m, n: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[n] ?? '');
}

const text = (xml: string, re: RegExp): string | undefined => {
  const m = re.exec(xml);
  return m?.[1] === undefined ? undefined : unescapeXml(m[1]);
};

export function parseDomainXml(xml: string): ParsedDomain {
  const graphics = /<graphics type='spice'[^>]*?(?:\/>|>[\s\S]*?<\/graphics>)/.exec(xml)?.[0];
  const graphicsTag = graphics ? (/^<graphics[^>]*>/.exec(graphics)?.[0] ?? '') : '';
  const port = Number(/\bport='(-?\d+)'/.exec(graphicsTag)?.[1] ?? 0);
  const firstDisk = /<disk type='file' device='disk'>[\s\S]*?<\/disk>/.exec(xml)?.[0] ?? '';
  return {
    name: text(xml, /<name>([^<]*)<\/name>/) ?? '',
    uuid: text(xml, /<uuid>([^<]*)<\/uuid>/) ?? '',
    vcpus: Number(/<vcpu[^>]*>(\d+)<\/vcpu>/.exec(xml)?.[1] ?? 0),
    memoryKiB: BigInt(/<memory unit='KiB'>(\d+)<\/memory>/.exec(xml)?.[1] ?? 0),
    metadata: parseMetadata(xml),
    spiceGraphics: graphics,
    spicePort: port > 0 ? port : 0,
    spicePassword: text(graphicsTag, /\bpasswd='([^']*)'/),
    diskPath: text(firstDisk, /<source file='([^']*)'/),
  };
}

/** `<deskplane:guest>` in our namespace, whatever prefix libvirt kept for it. */
export function parseMetadata(xml: string): GuestMetadata | undefined {
  const block = /<metadata[\s\S]*?<\/metadata>/.exec(xml)?.[0];
  if (!block?.includes(DESKPLANE_XMLNS)) return undefined;
  const guest = /<(\w+):guest\b[\s\S]*?<\/\1:guest>/.exec(block);
  if (!guest) return undefined;
  const p = guest[1]!;
  const field = (name: string): string => text(guest[0], new RegExp(`<${p}:${name}>([^<]*)</${p}:${name}>`)) ?? '';
  const desktopUid = field('desktopUid');
  if (!desktopUid) return undefined;
  return { desktopUid, goldenImage: field('goldenImage'), diskPath: field('disk'), serialLogPath: field('serialLog'), specHash: field('specHash') };
}

/** Sets (or adds) the passwd attribute on a graphics element from libvirt's XML. */
export function withPassword(graphicsElement: string, password: string): string {
  const escaped = password.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
  const tag = /^<graphics[^>]*?(\/?)>/.exec(graphicsElement)?.[0];
  if (!tag) throw new Error('not a graphics element');
  const newTag = /\bpasswd='[^']*'/.test(tag)
    ? tag.replace(/\bpasswd='[^']*'/, `passwd='${escaped}'`)
    : tag.replace(/^<graphics/, `<graphics passwd='${escaped}'`);
  return newTag + graphicsElement.slice(tag.length);
}

/**
 * `virsh domstate --reason` output ("running (booted)", "shut off (crashed)") → our state
 * and libvirt's reason, lowercased.
 */
export function parseDomState(out: string): { state: GuestState; reason: string } {
  const m = /^\s*([a-z ]+?)\s*(?:\(([^)]*)\))?\s*$/m.exec(out.trim().toLowerCase());
  const raw = m?.[1] ?? out.trim().toLowerCase();
  const reason = (m?.[2] ?? '').trim();
  switch (raw) {
    case 'running':
      return { state: 'running', reason };
    case 'paused':
    case 'pmsuspended':
    case 'blocked':
      return { state: raw === 'blocked' ? 'running' : 'paused', reason };
    case 'in shutdown':
      return { state: 'shutting_down', reason };
    case 'shut off':
      if (reason === 'crashed' || reason === 'failed') return { state: 'crashed', reason };
      return { state: reason === 'unknown' || reason === '' ? 'defined' : 'shutoff', reason };
    case 'crashed':
      return { state: 'crashed', reason };
    default:
      return { state: 'defined', reason: reason || raw };
  }
}
