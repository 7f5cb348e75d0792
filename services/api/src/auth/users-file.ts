import { readFileSync, statSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Role } from '../domain/caller';
import { parsePasswordHash } from './passwords';

/**
 * The built-in identity provider's users: `{ users: [{ username, passwordHash, tenant,
 * groups, roles }] }`. Read at start (a bad file stops the start naming the user and the
 * field) and re-read when its mtime changes, so adding a user or changing a password needs
 * no restart.
 */

const NAME = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

const UserEntry = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@-]+$' }),
    passwordHash: Type.String({ minLength: 1 }),
    /** The Kubernetes namespace of the user's desktops; empty only for platform-ops users. */
    tenant: Type.String({ maxLength: 63, pattern: `^$|${NAME}` }),
    groups: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    roles: Type.Optional(Type.Array(Type.Union([Type.Literal('user'), Type.Literal('tenant-admin'), Type.Literal('platform-ops')]))),
  },
  { additionalProperties: false },
);
const UsersDocument = Type.Object({ users: Type.Array(UserEntry) });

export interface BuiltinUser {
  username: string;
  passwordHash: string;
  tenant: string;
  groups: string[];
  roles: Role[];
}

/** Thrown when the users file cannot be read or does not describe valid users. */
export class UsersFileError extends Error {
  override readonly name = 'UsersFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export function parseUsers(file: string, text: string): Map<string, BuiltinUser> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsersFileError(file, `is not JSON (${(err as Error).message})`);
  }
  const first = Value.Errors(UsersDocument, doc).First();
  if (first) throw new UsersFileError(file, `${first.path || '/'}: ${first.message}`);
  const users = new Map<string, BuiltinUser>();
  for (const u of (doc as Static<typeof UsersDocument>).users) {
    if (users.has(u.username)) throw new UsersFileError(file, `user "${u.username}" appears twice`);
    if (!parsePasswordHash(u.passwordHash)) throw new UsersFileError(file, `user "${u.username}": passwordHash is not a scrypt hash (make one with \`deskplane-api hash-password\`)`);
    const roles = u.roles ?? ['user'];
    if (u.tenant === '' && !roles.includes('platform-ops')) throw new UsersFileError(file, `user "${u.username}": tenant may be empty only for platform-ops users`);
    users.set(u.username, { username: u.username, passwordHash: u.passwordHash, tenant: u.tenant, groups: u.groups ?? [], roles });
  }
  return users;
}

export class UsersFile {
  private users: Map<string, BuiltinUser>;
  private mtimeMs: number;

  constructor(readonly file: string) {
    this.mtimeMs = this.stat();
    this.users = this.read();
  }

  /** The user as the file says now; a file broken after start keeps the last good users. */
  get(username: string): BuiltinUser | undefined {
    try {
      const mtimeMs = this.stat();
      if (mtimeMs !== this.mtimeMs) {
        this.mtimeMs = mtimeMs;
        this.users = this.read();
      }
    } catch {
      // Keep serving the last good list: a half-saved or moved file must not lock everyone out.
    }
    return this.users.get(username);
  }

  get size(): number {
    return this.users.size;
  }

  private stat(): number {
    try {
      return statSync(this.file).mtimeMs;
    } catch (err) {
      throw new UsersFileError(this.file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }

  private read(): Map<string, BuiltinUser> {
    return parseUsers(this.file, readFileSync(this.file, 'utf8'));
  }
}
