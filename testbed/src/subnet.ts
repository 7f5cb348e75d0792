import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, statePath } from './config';
import { readState } from './state-file';

/**
 * A third octet (127.0.N.x) no other testbed instance's hosts use, for a test or bench that
 * brings up hosts of its own beside the shared testbed (1) and `bin/local`'s default (2).
 */
export function freeHostSubnet(): number {
  const root = resolveConfig({}).stateDir.replace(/\/[^/]+$/, '');
  const used = new Set([1, 2]);
  for (const name of existsSync(root) ? readdirSync(root) : []) {
    for (const h of readState(statePath(join(root, name)))?.hosts ?? []) used.add(Number(h.address.split('.')[2]));
  }
  for (;;) {
    const s = 100 + Math.floor(Math.random() * 150);
    if (!used.has(s)) return s;
  }
}
