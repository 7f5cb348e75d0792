import { describe, expect, it } from 'vitest';
import { testCaller } from '../../auth/test-token';
import { ApiError } from '../../domain/errors';
import { inTenant, wholeScope } from './deps';

const user = testCaller({ user: 'alice', tenant: 'team-a' });
const admin = testCaller({ user: 'carol', tenant: 'team-a', roles: ['tenant-admin'] });
const ops = testCaller({ user: 'olga', tenant: '', roles: ['platform-ops'] });
const opsWithTenant = testCaller({ user: 'oscar', tenant: 'ops-team', roles: ['platform-ops'] });

function statusOf(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe('inTenant', () => {
  it('passes a named tenant to the domain, which decides (404 for a foreign one)', () => {
    expect(inTenant(user, 'team-b')).toEqual({ tenant: 'team-b' });
    expect(inTenant(ops, 'team-b')).toEqual({ tenant: 'team-b' });
  });

  it('leaves the caller’s own tenant implicit', () => {
    expect(inTenant(user, undefined)).toEqual({});
    expect(inTenant(opsWithTenant, undefined)).toEqual({});
  });

  it('makes ops without a tenant name one: 400 on the tenant field', () => {
    try {
      inTenant(ops, undefined);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ status: 400, field: 'tenant' });
    }
  });
});

describe('wholeScope', () => {
  it.each([
    ['a user, no flags', user, {}, false],
    ['a user asking for all', user, { all: true }, 403],
    ['an admin, no flags', admin, {}, false],
    ['an admin asking for all', admin, { all: true }, true],
    ['an admin naming a tenant only', admin, { tenant: 'team-a' }, false],
    ['ops, no flags', ops, {}, false],
    ['ops naming a tenant', ops, { tenant: 'team-b' }, true],
    ['ops asking for all', ops, { all: true }, true],
  ] as const)('%s → %s', (_name, caller, query, expected) => {
    if (expected === 403) expect(statusOf(() => wholeScope(caller, query))).toBe(403);
    else expect(wholeScope(caller, query)).toBe(expected);
  });
});
