import { API_VERSION, type DesktopPolicy, type DesktopPolicySpec } from '@deskplane/api';
import { ChannelType as T } from '@deskplane/spice-protocol';
import { describe, expect, it } from 'vitest';
import { UNRESTRICTED, resolvePolicy, type EffectivePolicy } from './effective-policy';

function policy(name: string, spec: Partial<DesktopPolicySpec>, extra: { namespace?: string; valid?: 'True' | 'False'; deleting?: boolean } = {}): DesktopPolicy {
  return {
    apiVersion: API_VERSION,
    kind: 'DesktopPolicy',
    metadata: { name, namespace: extra.namespace ?? 'team-a', generation: 1, ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { subjects: { allUsersInNamespace: true }, ...spec },
    ...(extra.valid ? { status: { conditions: [{ type: 'Valid', status: extra.valid, reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } } : {}),
  };
}

const standard = policy('standard', {
  bandwidth: { totalKbps: 20_000, perUserKbps: 30_000, tenantKbps: 500_000, perChannel: { display: 16_000, usbredir: 2_000 } },
  deniedChannels: ['record', 'smartcard'],
  clipboard: 'both',
  maxConcurrentSessions: 2,
  idleTimeoutSeconds: 1800,
  maxSessionSeconds: 43_200,
});
const contractors = policy('contractors', { subjects: { groups: ['contractors'] }, priority: 10, deniedChannels: ['usbredir', 'record'], clipboard: 'toClient' });
const alice = policy('alice', { subjects: { users: ['alice'] }, priority: 10, bandwidth: { totalKbps: 50_000, perChannel: { display: 40_000 } } });
const power = policy('power', { subjects: { groups: ['power'] }, priority: 20, deniedChannels: [], maxConcurrentSessions: 4 });
const lowTenant = policy('partners', { subjects: { users: ['nobody'] }, bandwidth: { tenantKbps: 100_000 } });

const who = (user: string, groups: string[] = [], tenant = 'team-a') => ({ tenant, user, groups });

describe('resolvePolicy', () => {
  // [case, policies, who, preferred, expected subset]
  const cases: Array<[string, DesktopPolicy[], ReturnType<typeof who>, string | undefined, Partial<EffectivePolicy>]> = [
    [
      'one namespace-wide policy, in gateway units',
      [standard],
      who('bob'),
      undefined,
      {
        name: 'standard',
        deniedChannels: new Set([T.RECORD, T.SMARTCARD]),
        channelBytesPerSec: new Map([
          [T.DISPLAY, 2_000_000],
          [T.USBREDIR, 250_000],
        ]),
        sessionBytesPerSec: 2_500_000,
        userBytesPerSec: 3_750_000,
        tenantBytesPerSec: 62_500_000,
        idleTimeoutMs: 1_800_000,
        maxSessionMs: 43_200_000,
        maxConcurrentSessions: 2,
        clipboard: 'both',
      },
    ],
    ['higher priority by group: its fields win, the rest falls through', [standard, contractors], who('carol', ['contractors']), undefined, { name: 'contractors', deniedChannels: new Set([T.USBREDIR, T.RECORD]), clipboard: 'toClient', sessionBytesPerSec: 2_500_000, maxConcurrentSessions: 2 }],
    ['same priority: the user-specific policy beats the group one', [standard, contractors, alice], who('alice', ['contractors']), undefined, { name: 'alice', sessionBytesPerSec: 6_250_000, clipboard: 'toClient', channelBytesPerSec: new Map([[T.DISPLAY, 5_000_000], [T.USBREDIR, 250_000]]) }],
    ['a higher policy setting [] grants the denied channels back', [standard, contractors, power], who('dave', ['contractors', 'power']), undefined, { name: 'power', deniedChannels: new Set(), maxConcurrentSessions: 4 }],
    ['preferred (from the ticket) wins over a higher priority', [standard, contractors], who('carol', ['contractors']), 'standard', { name: 'standard', clipboard: 'both', deniedChannels: new Set([T.RECORD, T.SMARTCARD]) }],
    ['preferred that no longer binds the user is ignored', [standard, alice], who('bob'), 'alice', { name: 'standard', sessionBytesPerSec: 2_500_000 }],
    ['preferred that no longer exists is ignored', [standard], who('bob'), 'deleted-one', { name: 'standard' }],
    ['nothing binds: preferred (template default) applies alone', [alice], who('bob'), 'alice', { name: 'alice', sessionBytesPerSec: 6_250_000 }],
    ['nothing binds, no preferred: only the tenant limit', [lowTenant], who('bob'), undefined, { name: '', deniedChannels: new Set(), tenantBytesPerSec: 12_500_000, clipboard: 'both' }],
    ['tenant limit: the lowest of the namespace, even from a policy that does not bind', [standard, lowTenant], who('bob'), undefined, { name: 'standard', tenantBytesPerSec: 12_500_000 }],
    ['policies of another namespace never count, not even for the tenant limit', [policy('other', { priority: 99, clipboard: 'none', bandwidth: { tenantKbps: 1 } }, { namespace: 'team-b' }), standard], who('bob'), undefined, { name: 'standard', clipboard: 'both', tenantBytesPerSec: 62_500_000 }],
    ['Valid=False and deleting policies are ignored', [policy('bad', { priority: 50, clipboard: 'none' }, { valid: 'False' }), policy('going', { priority: 60, clipboard: 'none' }, { deleting: true }), standard], who('bob'), undefined, { name: 'standard', clipboard: 'both' }],
    ['Valid=True counts', [policy('good', { priority: 50, clipboard: 'none' }, { valid: 'True' }), standard], who('bob'), undefined, { name: 'good', clipboard: 'none', maxConcurrentSessions: 2 }],
  ];
  it.each(cases)('%s', (_case, policies, subject, preferred, expected) => {
    expect(resolvePolicy(policies, subject, preferred)).toMatchObject(expected);
  });

  it('nothing at all: UNRESTRICTED, with no limit keys present', () => {
    const p = resolvePolicy([contractors], who('bob'));
    expect(p).toBe(UNRESTRICTED);
    expect(Object.keys(p).sort()).toEqual(['channelBytesPerSec', 'clipboard', 'deniedChannels', 'name']);
  });

  it('leaves unset limits out rather than undefined', () => {
    const p = resolvePolicy([contractors], who('carol', ['contractors']));
    expect('sessionBytesPerSec' in p).toBe(false);
    expect('idleTimeoutMs' in p).toBe(false);
  });

  it('ties on priority and binding go to the name, whatever the list order', () => {
    const a = policy('a-first', { clipboard: 'none' });
    const b = policy('b-second', { clipboard: 'toGuest' });
    expect(resolvePolicy([b, a], who('x')).name).toBe('a-first');
    expect(resolvePolicy([a, b], who('x')).name).toBe('a-first');
  });

  it('never denies main, display or cursor even if an object says so', () => {
    const forged = policy('forged', { deniedChannels: ['display', 'cursor', 'inputs'] as unknown as DesktopPolicySpec['deniedChannels'] });
    expect(resolvePolicy([forged], who('x')).deniedChannels).toEqual(new Set([T.INPUTS]));
  });
});
