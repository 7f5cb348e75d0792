import { describe, expect, it } from 'vitest';
import { ConditionReason, ConditionType } from '../conditions';
import { renderCrds } from '../crd';
import { API_VERSION } from '../group';
import { validate } from '../validate';

const policy = (spec: Record<string, unknown>): unknown => ({
  apiVersion: API_VERSION,
  kind: 'DesktopPolicy',
  metadata: { name: 'p', namespace: 'acme' },
  spec: { subjects: { allUsersInNamespace: true }, ...spec },
});

describe('DesktopPolicy desktopIdleSeconds', () => {
  it.each([10, 3600, 2592000])('accepts %i seconds', (s) => {
    expect(validate(policy({ desktopIdleSeconds: s })).ok).toBe(true);
  });

  it.each([
    [9, 'greater than or equal to 10'],
    [2592001, 'less than or equal to 2592000'],
    [1.5, 'integer'],
    ['600', 'integer'],
  ])('rejects %j', (s, message) => {
    const r = validate(policy({ desktopIdleSeconds: s }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues).toContainEqual({ path: 'spec.desktopIdleSeconds', message: expect.stringContaining(message) as string });
  });

  it('is optional: a policy without it never stops desktops', () => {
    expect(validate(policy({})).ok).toBe(true);
  });

  it('is in the CRD schema with its bounds and as a wide printer column', () => {
    const yaml = renderCrds().get('desktoppolicies.deskplane.io.yaml') ?? '';
    expect(yaml).toMatch(/desktopIdleSeconds:\n\s+description: .*\n\s+type: integer\n\s+minimum: 10\n\s+maximum: 2592000/);
    expect(yaml).toContain('jsonPath: .spec.desktopIdleSeconds');
  });

  it('has its VirtualDesktop condition type and reasons', () => {
    expect(ConditionType.Idle).toBe('Idle');
    expect([ConditionReason.IdleStopped, ConditionReason.IdleRecycled, ConditionReason.Active]).toEqual(['IdleStopped', 'IdleRecycled', 'Active']);
  });
});
