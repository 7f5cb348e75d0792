import { desktopUidOf } from './domain-xml';
import type { DomainEvent, DomainEventType } from './types';

/**
 * Lines of `virsh event --all --loop --timestamp`, e.g.
 *   2026-11-25 18:46:59.632+0000: event 'lifecycle' for domain 'dp-…': Started Booted
 * Some events (job-completed) continue on tab-indented lines; those are not lifecycle
 * events and are skipped.
 */
export interface RawDomainEvent {
  time: Date;
  /** 'lifecycle', 'reboot', 'graphics', 'job-completed', … */
  kind: string;
  domain: string;
  /** After the colon: "Started Booted", "Stopped Failed", … (empty when none). */
  detail: string;
}

const LINE_RE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(\d{2}): event '([^']+)' for domain '([^']*)'(?::\s?(.*))?$/;

/** One line → an event, or undefined for continuation lines, blanks and other output. */
export function parseEventLine(line: string): RawDomainEvent | undefined {
  const m = LINE_RE.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  const [, date, clock, tzh, tzm, kind, domain, detail] = m;
  return { time: new Date(`${date}T${clock}${tzh}:${tzm}`), kind: kind!, domain: domain!, detail: (detail ?? '').trim() };
}

/**
 * Lifecycle events → Deskplane events, with the little state a correct mapping needs. On the
 * destination of a migration libvirt says "Started Migrated" when the INCOMING QEMU starts
 * and "Resumed Migrated" once the guest really runs there; an aborted migration ends with
 * "Stopped Failed" on the destination, which is not a crash of anyone's guest. So
 * migrated_in is emitted on the resume, and a stop of an incoming domain is dropped.
 */
export class LifecycleMapper {
  private readonly incoming = new Set<string>();

  map(raw: RawDomainEvent): DomainEvent | undefined {
    if (raw.kind !== 'lifecycle') return undefined;
    const desktopUid = desktopUidOf(raw.domain);
    if (!desktopUid) return undefined;
    const [event = '', ...rest] = raw.detail.split(' ');
    const reason = rest.join(' ');
    const wasIncoming = this.incoming.has(raw.domain);
    let type: DomainEventType | undefined;
    switch (event) {
      case 'Started':
        if (reason === 'Migrated') this.incoming.add(raw.domain);
        else type = 'started';
        break;
      case 'Resumed':
        if (wasIncoming && (reason === 'Migrated' || reason.startsWith('Post-copy'))) {
          this.incoming.delete(raw.domain);
          type = 'migrated_in';
        }
        break;
      case 'Stopped':
        this.incoming.delete(raw.domain);
        if (wasIncoming) break; // an incoming migration that failed or was aborted
        if (reason === 'Migrated') type = 'migrated_out';
        else if (reason === 'Failed' || reason === 'Crashed') type = 'crashed';
        else type = 'stopped';
        break;
      default:
        break;
    }
    return type && { desktopUid, domainName: raw.domain, type, detail: raw.detail, time: raw.time };
  }
}

/** Splits a byte stream into lines; keeps the unfinished tail. */
export class LineSplitter {
  private tail = '';
  push(chunk: string): string[] {
    const parts = (this.tail + chunk).split('\n');
    this.tail = parts.pop() ?? '';
    return parts;
  }
}
