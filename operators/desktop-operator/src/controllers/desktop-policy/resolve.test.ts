import { describe, expect, it } from 'vitest';
import { policy } from '../shared/fixtures';
import { resolveEffectivePolicy } from './resolve';
import { validatePolicy } from './validate';

const standard = policy('standard', {
  priority: 0,
  bandwidth: { totalKbps: 20000, perChannel: { display: 16000, usbredir: 2000 } },
  deniedChannels: ['record', 'smartcard'],
  clipboard: 'both',
  maxConcurrentSessions: 2,
  idleTimeoutSeconds: 1800,
});
const contractors = policy('contractors', { subjects: { groups: ['contractors'] }, priority: 10, deniedChannels: ['usbredir', 'record', 'webdav'], clipboard: 'toClient' });
const alice = policy('alice', { subjects: { users: ['alice'] }, priority: 10, bandwidth: { totalKbps: 50000 } });
const power = policy('power', { subjects: { groups: ['power'] }, priority: 20, deniedChannels: [], maxConcurrentSessions: 4 });

describe('resolveEffectivePolicy', () => {
  // [case, policies, user, groups, expected subset]
  const cases: Array<[string, ReturnType<typeof policy>[], string, string[], Record<string, unknown>]> = [
    ['namespace-wide policy alone', [standard], 'bob', [], { policies: [{ name: 'standard', priority: 0, binding: 'namespace' }], deniedChannels: ['record', 'smartcard'], clipboard: 'both', bandwidth: { totalKbps: 20000, perChannel: { display: 16000, usbredir: 2000 } }, maxConcurrentSessions: 2, idleTimeoutSeconds: 1800 }],
    ['nothing binds: unlimited defaults', [contractors], 'bob', ['staff'], { policies: [], deniedChannels: [], clipboard: 'both', bandwidth: { perChannel: {} } }],
    ['higher priority group policy replaces the denied list, the rest falls through', [standard, contractors], 'carol', ['contractors'], { deniedChannels: ['record', 'usbredir', 'webdav'], clipboard: 'toClient', maxConcurrentSessions: 2, bandwidth: { totalKbps: 20000, perChannel: { display: 16000, usbredir: 2000 } } }],
    ['same priority: user-specific beats group', [standard, contractors, alice], 'alice', ['contractors'], { policies: [{ name: 'alice', priority: 10, binding: 'user' }, { name: 'contractors', priority: 10, binding: 'group' }, { name: 'standard', priority: 0, binding: 'namespace' }], bandwidth: { totalKbps: 50000, perChannel: { display: 16000, usbredir: 2000 } }, clipboard: 'toClient' }],
    ['a higher policy setting [] grants channels back', [standard, contractors, power], 'dave', ['contractors', 'power'], { deniedChannels: [], maxConcurrentSessions: 4, clipboard: 'toClient' }],
    ['policies in other namespaces never bind', [policy('elsewhere', { priority: 100, clipboard: 'none' }, 'team-b'), standard], 'bob', [], { clipboard: 'both' }],
  ];
  it.each(cases)('%s', (_n, policies, user, groups, expected) => {
    expect(resolveEffectivePolicy(policies, user, groups, 'team-a')).toMatchObject(expected);
  });

  it('ties on priority and binding go to the name, whatever the list order', () => {
    const a = policy('a-first', { clipboard: 'none' });
    const b = policy('b-second', { clipboard: 'toGuest' });
    expect(resolveEffectivePolicy([b, a], 'x', [], 'team-a').clipboard).toBe('none');
    expect(resolveEffectivePolicy([a, b], 'x', [], 'team-a').clipboard).toBe('none');
  });

  it('says which policy decided each field', () => {
    expect(resolveEffectivePolicy([standard, contractors], 'carol', ['contractors'], 'team-a').sources).toMatchObject({
      deniedChannels: 'contractors',
      clipboard: 'contractors',
      'bandwidth.totalKbps': 'standard',
      'bandwidth.perChannel.display': 'standard',
    });
  });

  it('ignores invalid and deleting policies; the template default applies only when nothing binds', () => {
    const invalid = { ...policy('broken', { priority: 50, clipboard: 'none' }), status: { conditions: [{ type: 'Valid', status: 'False' as const, reason: 'InvalidPolicy', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
    const deleting = { ...policy('going', { priority: 50, clipboard: 'none' }), metadata: { name: 'going', namespace: 'team-a', deletionTimestamp: '2026-01-01T00:00:00Z' } };
    expect(resolveEffectivePolicy([invalid, deleting, standard], 'bob', [], 'team-a').clipboard).toBe('both');
    const dflt = policy('template-default', { subjects: { users: ['nobody'] }, clipboard: 'toClient' });
    expect(resolveEffectivePolicy([], 'bob', [], 'team-a', { defaultPolicy: dflt })).toMatchObject({ clipboard: 'toClient', policies: [{ name: 'template-default', binding: 'default' }] });
    expect(resolveEffectivePolicy([standard], 'bob', [], 'team-a', { defaultPolicy: dflt }).clipboard).toBe('both');
  });
});

describe('validatePolicy', () => {
  const cases: Array<[string, Parameters<typeof policy>[1], string[]]> = [
    ['the example policy is valid', standard.spec, []],
    ['per-channel limit above the total', { bandwidth: { totalKbps: 1000, perChannel: { display: 2000 } } }, ['spec.bandwidth.perChannel.display: 2000 kbit/s exceeds totalKbps 1000']],
    ['duplicate denied channels', { deniedChannels: ['record', 'usbredir', 'record'] }, ['spec.deniedChannels: duplicate entries: record']],
    ['duplicate users', { subjects: { users: ['a', 'b', 'a'] } }, ['spec.subjects.users: duplicate entries: a']],
    ['limit on a denied channel', { deniedChannels: ['usbredir'], bandwidth: { perChannel: { usbredir: 100 } } }, ['spec.bandwidth.perChannel.usbredir: limits channel usbredir, which deniedChannels refuses']],
    ['idle timeout longer than the session', { idleTimeoutSeconds: 7200, maxSessionSeconds: 3600 }, ['spec.idleTimeoutSeconds: 7200s is longer than maxSessionSeconds 3600s and can never fire']],
  ];
  it.each(cases)('%s', (_n, spec, issues) => {
    expect(validatePolicy({ subjects: { allUsersInNamespace: true }, ...spec }).map((i) => `${i.field}: ${i.message}`)).toEqual(issues);
  });
});
