/**
 * Helpers of the consolidation end-to-end test: a console session held open through the
 * gateway (a real SPICE main channel), libvirt's own view of a host, and the operator's
 * Events as the store keeps them.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { LinkError, ServerLinkDecoder } from '@deskplane/spice-protocol';
import { EVENT_TYPE, type EventObject, type ResourceStore } from '@deskplane/resource-store';
import { clientLinkMessage, ticketAnswer } from '@deskplane/testbed';

export interface HeldConsole {
  /** Bytes the guest's main channel sent after the link (MAIN_INIT and later). */
  received(): number;
  close(): void;
}

/**
 * Links a SPICE main channel through the gateway with `ticket` and keeps it open: the
 * gateway counts a session (and writes its presence) for as long as this socket lives.
 * Rejects on a refused link, so a bad ticket fails the test instead of pinning nothing.
 */
export function holdConsole(host: string, port: number, ticket: string, timeoutMs = 10_000): Promise<HeldConsole> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const decoder = new ServerLinkDecoder();
    let received = 0;
    let linked = false;
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no link result within ${timeoutMs} ms (${decoder.currentState})`)), timeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(clientLinkMessage()));
    socket.on('error', (err) => (linked ? undefined : fail(err)));
    socket.on('data', (chunk: Buffer) => {
      if (linked) return void (received += chunk.length);
      for (const msg of decoder.feed(chunk)) {
        if (msg.kind === 'linkResult') {
          if (msg.result !== LinkError.OK) return fail(new Error(`the gateway refused the link: result ${msg.result}`));
          linked = true;
          clearTimeout(timer);
          received += decoder.takeRemainder().length;
          return resolve({ received: () => received, close: () => void socket.destroy() });
        }
        if (msg.error !== LinkError.OK) return fail(new Error(`the gateway refused the link: error ${msg.error}`));
        for (const b of ticketAnswer(msg, ticket)) socket.write(b);
      }
    });
  });
}

/** Domains libvirt on one host lists (`virsh list --name`, running only unless `all`). */
export function virshDomains(libvirtUri: string, all = false): Promise<string[]> {
  return new Promise((resolve, reject) =>
    execFile('virsh', ['-q', '-c', libvirtUri, 'list', '--name', ...(all ? ['--all'] : [])], (err, stdout, stderr) =>
      err ? reject(new Error(`virsh -c ${libvirtUri} list: ${stderr || err.message}`)) : resolve(stdout.split('\n').map((s) => s.trim()).filter(Boolean)),
    ),
  );
}

/** One Event as the test reads it: what it is about, and when it was first and last seen. */
export interface SeenEvent {
  reason: string;
  kind: string;
  name: string;
  note: string;
  count: number;
  first: number;
  last: number;
}

/**
 * Events with `reason` in `namespace` (cluster-scoped objects such as KvmHosts have theirs
 * in `default`). The recorder folds repeats into a series, so `last` is when the newest
 * pass said it again.
 */
export async function eventsWith(store: ResourceStore, namespace: string, reasons: readonly string[]): Promise<SeenEvent[]> {
  const { items } = await store.client<EventObject>(EVENT_TYPE).list({ namespace });
  return items
    .filter((e) => reasons.includes(e.reason))
    .map((e) => ({
      reason: e.reason,
      kind: e.regarding.kind,
      name: e.regarding.name,
      note: e.note,
      count: e.series?.count ?? 1,
      first: Date.parse(e.eventTime),
      last: Date.parse(e.series?.lastObservedTime ?? e.eventTime),
    }))
    .sort((a, b) => a.first - b.first);
}

export const formatEvent = (e: SeenEvent, since: number): string =>
  `  ${e.reason} ${e.kind}/${e.name} ×${e.count} (first +${((e.first - since) / 1000).toFixed(1)} s, last +${((e.last - since) / 1000).toFixed(1)} s): ${e.note}`;
