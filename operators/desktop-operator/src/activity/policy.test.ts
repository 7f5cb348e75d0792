import { API_VERSION, type DesktopPolicy, type DesktopPolicySpec } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { ago, desktop, template } from '../controllers/shared/fixtures';
import { resolveIdleRule } from './policy';

function policy(name: string, spec: Partial<DesktopPolicySpec>, o: { namespace?: string; deleting?: boolean; valid?: 'True' | 'False' } = {}): DesktopPolicy {
  return {
    apiVersion: API_VERSION,
    kind: 'DesktopPolicy',
    metadata: { name, namespace: o.namespace ?? 'team-a', ...(o.deleting && { deletionTimestamp: ago(1) }) },
    spec: { subjects: { users: ['nobody'] }, ...spec },
    ...(o.valid && { status: { conditions: [{ type: 'Valid', status: o.valid, reason: 'Checked', message: '', lastTransitionTime: ago(60) }] } }),
  };
}
const alice = desktop('vd1', { spec: { owner: 'alice' } });
const tpl = template('small', { defaultPolicyRef: { name: 'tpl-default' } });
const forAlice = { subjects: { users: ['alice'] } };
const everyone = { subjects: { allUsersInNamespace: true } };
const groups = { subjects: { groups: ['devs'] } };

describe('resolveIdleRule', () => {
  it.each<[string, DesktopPolicy[], { seconds: number; policy: string } | undefined]>([
    ['the template default policy alone', [policy('tpl-default', { desktopIdleSeconds: 600 })], { seconds: 600, policy: 'tpl-default' }],
    ['no policy sets it', [policy('tpl-default', {}), policy('a', { ...forAlice, maxSessionSeconds: 600 })], undefined],
    ['a user binding of higher priority beats the default', [policy('tpl-default', { desktopIdleSeconds: 600 }), policy('a', { ...forAlice, priority: 10, desktopIdleSeconds: 60 })], { seconds: 60, policy: 'a' }],
    ['a binding of equal priority does not beat the default', [policy('tpl-default', { desktopIdleSeconds: 600, priority: 5 }), policy('a', { ...forAlice, priority: 5, desktopIdleSeconds: 60 })], { seconds: 600, policy: 'tpl-default' }],
    ['a binding of lower priority does not beat the default', [policy('tpl-default', { desktopIdleSeconds: 600, priority: 5 }), policy('a', { ...forAlice, desktopIdleSeconds: 60 })], { seconds: 600, policy: 'tpl-default' }],
    ['the winner without the field falls through to the next', [policy('tpl-default', { desktopIdleSeconds: 600 }), policy('a', { ...forAlice, priority: 10 })], { seconds: 600, policy: 'tpl-default' }],
    ['allUsersInNamespace binds', [policy('all', { ...everyone, desktopIdleSeconds: 900 })], { seconds: 900, policy: 'all' }],
    ['user beats namespace at equal priority', [policy('all', { ...everyone, desktopIdleSeconds: 900 }), policy('zz', { ...forAlice, desktopIdleSeconds: 120 })], { seconds: 120, policy: 'zz' }],
    ['equal rank: by name', [policy('b', { ...everyone, desktopIdleSeconds: 2 * 60 }), policy('a', { ...everyone, desktopIdleSeconds: 60 })], { seconds: 60, policy: 'a' }],
    ['groups are unknown to the operator', [policy('g', { ...groups, desktopIdleSeconds: 60 })], undefined],
    ['another user', [policy('bob', { subjects: { users: ['bob'] }, desktopIdleSeconds: 60 })], undefined],
    ['another namespace', [policy('tpl-default', { desktopIdleSeconds: 600 }, { namespace: 'team-b' }), policy('all', { ...everyone, desktopIdleSeconds: 60 }, { namespace: 'team-b' })], undefined],
    ['a policy being deleted', [policy('all', { ...everyone, desktopIdleSeconds: 60 }, { deleting: true })], undefined],
    ['a policy marked Valid=False', [policy('all', { ...everyone, desktopIdleSeconds: 60 }, { valid: 'False' })], undefined],
    ['a policy marked Valid=True', [policy('all', { ...everyone, desktopIdleSeconds: 60 }, { valid: 'True' })], { seconds: 60, policy: 'all' }],
  ])('%s', (_what, policies, want) => {
    expect(resolveIdleRule(alice, tpl, policies)).toEqual(want);
  });

  it('nothing for an unclaimed desktop, and no default without a template', () => {
    const all = [policy('tpl-default', { desktopIdleSeconds: 600 }), policy('all', { ...everyone, desktopIdleSeconds: 60 })];
    expect(resolveIdleRule(desktop('p-1', { spec: { owner: undefined, poolRef: { name: 'p' } } }), tpl, all)).toBeUndefined();
    expect(resolveIdleRule(alice, undefined, [policy('tpl-default', { desktopIdleSeconds: 600 })])).toBeUndefined();
  });
});
