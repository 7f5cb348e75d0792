/**
 * The guest-screen helpers live in the testbed library; what is left here reads the local
 * run's embedded store.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export { findGuest, screendump, decodePng, waitForGuestPicture, changedPixels, guestMovesOn, type GuestPicture } from '@deskplane/testbed';

/** The uid of a desktop as the embedded store's journal last wrote it. */
export function desktopUid(dataDir: string, namespace: string, name: string): string {
  let uid: string | undefined;
  for (const line of readFileSync(join(dataDir, 'store', 'store.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const o = (JSON.parse(line) as { e?: { object?: { kind?: string; metadata?: { name?: string; namespace?: string; uid?: string } } } }).e?.object;
    if (o?.kind === 'VirtualDesktop' && o.metadata?.name === name && o.metadata.namespace === namespace && o.metadata.uid) uid = o.metadata.uid;
  }
  if (!uid) throw new Error(`no VirtualDesktop ${namespace}/${name} in ${dataDir}/store/store.jsonl`);
  return uid;
}
