import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestDefinition } from '../../src/driver/types';
import { TEST_GOLDEN_IMAGE } from '../support/testbed-hosts';

/** A small guest: 256 MiB, 1 vCPU, a fresh uid and password. */
export function testGuest(overrides: Partial<GuestDefinition> = {}): GuestDefinition {
  return {
    desktopUid: randomUUID(),
    displayName: 'driver test <&> desk',
    vcpus: 1,
    memoryBytes: 256n * 1024n * 1024n,
    diskBytes: 128n * 1024n * 1024n,
    goldenImage: TEST_GOLDEN_IMAGE,
    spice: { password: randomBytes(9).toString('base64url'), imageCompression: 'auto_glz', streamingMode: 'filter' },
    ...overrides,
  };
}

export const serialLogOf = (storageDir: string, uid: string): string => join(storageDir, `dp-${uid}.serial.log`);

/** Tick numbers the guest printed so far ("deskplane-guest tick N"). */
export function ticks(serialLog: string): number[] {
  let text = '';
  try {
    text = readFileSync(serialLog, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/deskplane-guest tick (\d+)/g)].map((m) => Number(m[1]));
}

export async function waitUntil<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until the counter advances past `after` (two distinct ticks above it). */
export async function waitForTicks(serialLog: string, after: number, timeoutMs: number): Promise<[number, number]> {
  let first: number | undefined;
  return waitUntil(
    `the guest counter in ${serialLog} to advance past ${after}`,
    () => {
      const last = ticks(serialLog).filter((t) => t > after).at(-1);
      if (last === undefined) return undefined;
      first ??= last;
      return last !== first ? ([first, last] as [number, number]) : undefined;
    },
    timeoutMs,
  );
}

export const timing = (what: string, ms: number): void => console.log(`[host-agent driver] ${what}: ${Math.round(ms)} ms`);
