import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** This package's version, read from its package.json (works from src/ and from dist/src/). */
export function agentVersion(): string {
  for (let dir = __dirname, i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@deskplane/host-agent' && pkg.version) return pkg.version;
    } catch {
      /* not here; look one level up */
    }
  }
  return 'unknown';
}
