import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Refresh tokens of the built-in identity provider: opaque random strings, stored only as
 * their sha256. Each use rotates the token (the used one is kept, marked used, until it
 * expires); presenting a used token again means it was copied, so the whole family (every
 * token descended from that login) is revoked. Optionally persisted to a file so a restart
 * of the local run does not sign everyone out.
 */

interface Entry {
  user: string;
  family: string;
  expiresAt: number;
  used: boolean;
}

export type RefreshOutcome =
  | { ok: true; user: string; token: string; expiresAt: number }
  | { ok: false; reason: 'unknown' | 'expired' | 'reused' };

export interface RefreshTokenStoreOptions {
  ttlMs: number;
  /** Where to keep the hashes; undefined = memory only. */
  file?: string;
  now?: () => number;
}

const sha256 = (token: string): string => createHash('sha256').update(token).digest('base64url');

export class RefreshTokenStore {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly opts: RefreshTokenStoreOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.file) this.load(opts.file);
  }

  /** A new token starting a new family (a login). */
  issue(user: string): { token: string; expiresAt: number } {
    return this.add(user, randomUUID());
  }

  /** Uses `token` up and returns its successor in the same family. */
  rotate(token: string): RefreshOutcome {
    const hash = sha256(token);
    const entry = this.entries.get(hash);
    if (!entry) return { ok: false, reason: 'unknown' };
    if (entry.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    if (entry.used) {
      this.revokeFamily(entry.family);
      return { ok: false, reason: 'reused' };
    }
    entry.used = true;
    const next = this.add(entry.user, entry.family);
    return { ok: true, user: entry.user, ...next };
  }

  /**
   * Revokes the family `token` belongs to, if it is `user`'s (when given); returns the user
   * whose sign-in ended, or undefined when nothing was revoked.
   */
  revoke(token: string, user?: string): string | undefined {
    const entry = this.entries.get(sha256(token));
    if (!entry || (user !== undefined && entry.user !== user)) return undefined;
    this.revokeFamily(entry.family);
    return entry.user;
  }

  /** Entries held (used ones included, until they expire). */
  get size(): number {
    return this.entries.size;
  }

  private add(user: string, family: string): { token: string; expiresAt: number } {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.opts.ttlMs;
    this.entries.set(sha256(token), { user, family, expiresAt, used: false });
    this.save();
    return { token, expiresAt };
  }

  private revokeFamily(family: string): void {
    for (const [hash, e] of this.entries) if (e.family === family) this.entries.delete(hash);
    this.save();
  }

  private save(): void {
    const now = this.now();
    for (const [hash, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(hash);
    const file = this.opts.file;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ tokens: Object.fromEntries(this.entries) }), { mode: 0o600 });
    renameSync(tmp, file);
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const doc = JSON.parse(text) as { tokens?: Record<string, Entry> };
      for (const [hash, e] of Object.entries(doc.tokens ?? {})) {
        if (typeof e.user === 'string' && typeof e.family === 'string' && typeof e.expiresAt === 'number') {
          this.entries.set(hash, { user: e.user, family: e.family, expiresAt: e.expiresAt, used: e.used === true });
        }
      }
    } catch {
      // A damaged file only costs the signed-in users a new login; it must not stop the start.
      this.entries.clear();
    }
  }
}
