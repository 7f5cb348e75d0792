import { gatewayAdmin } from '@deskplane/grpc-contracts';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import * as v from './validate';

const mint = (over: Partial<gatewayAdmin.MintTicketRequest> = {}): gatewayAdmin.MintTicketRequest =>
  gatewayAdmin.MintTicketRequest.fromPartial({
    user: 'alice@example.com',
    tenant: 'acme',
    groups: ['devs'],
    desktop: 'vd-1',
    upstream: { host: '10.0.0.7', port: 5901, password: 'guest-secret' },
    ...over,
  });

/** The InvalidArgumentError message `fn` throws (fails the test if it does not throw one). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('MintTicket validation', () => {
  it('turns a good request into the store request: namespace/name, TTL default 60 s, groups deduplicated', () => {
    expect(v.mintRequest(mint({ groups: ['devs', 'ops', 'devs'] }))).toEqual({
      user: 'alice@example.com',
      tenant: 'acme',
      groups: ['devs', 'ops'],
      desktop: 'acme/vd-1',
      upstream: { host: '10.0.0.7', port: 5901, password: 'guest-secret' },
      ttlMs: 60_000,
    });
    const r = v.mintRequest(mint({ desktop: 'acme/vd-1', policy: 'gold', ttlSeconds: 3_600, upstream: { host: 'fd00::7', port: 1, password: 'p' } }));
    expect(r).toMatchObject({ desktop: 'acme/vd-1', policy: 'gold', ttlMs: 3_600_000, upstream: { host: 'fd00::7', port: 1 } });
  });

  it.each([
    ['no user', { user: '' }, 'user is required'],
    ['a control character in the user', { user: 'al\nice' }, 'user must not contain control characters'],
    ['an overlong user', { user: 'a'.repeat(257) }, 'user must be at most 256 characters, got 257'],
    ['no tenant', { tenant: '' }, 'tenant is required'],
    ['an upper-case tenant', { tenant: 'Acme' }, 'tenant must be a namespace name'],
    ['an empty group', { groups: ['ok', ''] }, 'groups[1] is required'],
    ['too many groups', { groups: Array.from({ length: 257 }, (_, i) => `g${i}`) }, 'groups must have at most 256 entries, got 257'],
    ['no desktop', { desktop: '' }, 'desktop is required'],
    ['another tenant\'s desktop', { desktop: 'globex/vd-1' }, 'desktop is in namespace "globex" but the tenant is "acme"'],
    ['a bad desktop name', { desktop: 'acme/VD_1' }, 'desktop must name a VirtualDesktop'],
    ['a bad policy name', { policy: 'Gold Plan' }, 'policy must be a DesktopPolicy name'],
    ['a TTL over an hour', { ttlSeconds: 3_601 }, 'ttl_seconds must be at most 3600, got 3601'],
    ['no upstream', { upstream: undefined }, 'upstream is required'],
    ['an upstream URL for a host', { upstream: { host: 'spice://h', port: 5900, password: 'p' } }, 'upstream.host must be a host name or IP address'],
    ['port 0', { upstream: { host: 'h', port: 0, password: 'p' } }, 'upstream.port must be 1-65535, got 0'],
    ['port 65536', { upstream: { host: 'h', port: 65_536, password: 'p' } }, 'upstream.port must be 1-65535, got 65536'],
    ['no password', { upstream: { host: 'h', port: 5900, password: '' } }, 'upstream.password is required'],
    ['a password over 59 bytes', { upstream: { host: 'h', port: 5900, password: 'é'.repeat(30) } }, 'upstream.password must be at most 59 bytes, got 60'],
    ['a NUL in the password', { upstream: { host: 'h', port: 5900, password: 'a\u0000b' } }, 'upstream.password must not contain NUL'],
  ])('refuses %s', (_name, over, message) => {
    expect(refusal(() => v.mintRequest(mint(over as Partial<gatewayAdmin.MintTicketRequest>)))).toContain(message);
  });

  it('never quotes the password it refuses', () => {
    const password = `${'s3cr3t'.repeat(10)}`;
    const message = refusal(() => v.mintRequest(mint({ upstream: { host: 'h', port: 5900, password } })));
    expect(message).not.toContain('s3cr3t');
  });
});

describe('the other requests', () => {
  it('ListSessions: empty fields are no filter; a bare desktop needs the tenant', () => {
    expect(v.listFilter({ tenant: '', user: '', desktop: '' })).toEqual({});
    expect(v.listFilter({ tenant: 'acme', user: 'bob', desktop: 'vd-1' })).toEqual({ tenant: 'acme', user: 'bob', desktop: 'acme/vd-1' });
    expect(v.listFilter({ tenant: '', user: '', desktop: 'acme/vd-1' })).toEqual({ desktop: 'acme/vd-1' });
    expect(refusal(() => v.listFilter({ tenant: '', user: '', desktop: 'vd-1' }))).toBe('desktop must be "namespace/name", got "vd-1"');
  });

  it('KillSession: a key is required and the reason defaults', () => {
    expect(v.killRequest({ key: 'gs-0123456789ab', reason: '' })).toEqual({ key: 'gs-0123456789ab', reason: 'killed by admin' });
    expect(v.killRequest({ key: 'gs-1', reason: 'abuse report 42' }).reason).toBe('abuse report 42');
    expect(refusal(() => v.killRequest({ key: '', reason: '' }))).toBe('key is required');
    expect(refusal(() => v.killRequest({ key: 'gs 1', reason: '' }))).toContain('key must be a session key');
    expect(refusal(() => v.killRequest({ key: 'gs-1', reason: 'x'.repeat(257) }))).toContain('reason must be at most 256');
  });

  it('RevokeTicket: 64 lowercase hex digits', () => {
    const hash = 'ab'.repeat(32);
    expect(v.ticketHash({ ticketHash: hash })).toBe(hash);
    expect(refusal(() => v.ticketHash({ ticketHash: '' }))).toBe('ticket_hash is required');
    expect(refusal(() => v.ticketHash({ ticketHash: hash.toUpperCase() }))).toContain('64 lowercase hex digits');
    expect(refusal(() => v.ticketHash({ ticketHash: hash.slice(1) }))).toContain('64 lowercase hex digits');
  });

  it('PrepareMigration: namespace/name, a destination, timeout default 10 s and at most 10 min', () => {
    const destination = { host: '10.0.0.8', port: 5902, password: 'dst' };
    expect(v.prepareRequest({ desktop: 'acme/vd-1', destination, timeoutMs: 0 })).toEqual({ desktop: 'acme/vd-1', destination, timeoutMs: 10_000 });
    // The orchestrator does not send the password: the guest keeps its own across the migration.
    expect(v.prepareRequest({ desktop: 'acme/vd-1', destination: { ...destination, password: '' }, timeoutMs: 500 }).destination.password).toBe('');
    expect(refusal(() => v.prepareRequest({ desktop: 'acme/vd-1', destination: { ...destination, password: 'x'.repeat(60) }, timeoutMs: 0 }))).toContain('destination.password must be at most 59 bytes');
    expect(refusal(() => v.prepareRequest({ desktop: 'acme/vd-1', destination: { ...destination, port: 0 }, timeoutMs: 0 }))).toContain('destination.port must be 1-65535');
    expect(refusal(() => v.prepareRequest({ desktop: 'vd-1', destination, timeoutMs: 0 }))).toContain('desktop must be "namespace/name"');
    expect(refusal(() => v.prepareRequest({ desktop: 'acme/vd-1', destination: undefined, timeoutMs: 0 }))).toBe('destination is required');
    expect(refusal(() => v.prepareRequest({ desktop: 'acme/vd-1', destination, timeoutMs: 600_001 }))).toContain('timeout_ms must be at most 600000');
  });

  it('FinishMigration: namespace/name', () => {
    expect(v.finishRequest({ desktop: 'acme/vd-1', succeeded: true })).toEqual({ desktop: 'acme/vd-1', succeeded: true });
    expect(refusal(() => v.finishRequest({ desktop: '', succeeded: false }))).toBe('desktop is required');
  });
});
