import { describe, expect, it } from 'vitest';
import { API_VERSION, applyDefaults, buildCrd, DesktopPoolKind, validateDesktopPool, type DesktopPool } from '../index';

const pool = (spec: Record<string, unknown>, name = 'p'): unknown => ({ apiVersion: API_VERSION, kind: 'DesktopPool', metadata: { name }, spec });
const base = { templateRef: { name: 't' }, size: 4, warm: 1 };
const entry = (e: Record<string, unknown>) => ({ days: ['Mon'], from: '08:00', to: '18:00', warm: 2, ...e });
const issues = (o: unknown) => {
  const r = validateDesktopPool(o);
  return r.ok ? [] : r.issues;
};

describe('DesktopPool warm schedule, time zone, release grace', () => {
  it('accepts office hours, an overnight window and a day that ends at 24:00', () => {
    const spec = { ...base, timeZone: 'Europe/Berlin', warmSchedule: [entry({}), entry({ days: ['Fri', 'Sat'], from: '22:00', to: '06:00', warm: 0 }), entry({ from: '20:00', to: '24:00' })] };
    expect(issues(pool(spec))).toEqual([]);
  });

  it('defaults timeZone to UTC and releaseAfterSeconds to 60', () => {
    const p = applyDefaults(pool(base) as DesktopPool);
    expect(p.spec).toMatchObject({ timeZone: 'UTC', releaseAfterSeconds: 60, assignment: 'Dedicated', warm: 1 });
  });

  it.each([
    ['from 24:00', entry({ from: '24:00' }), 'spec.warmSchedule[0].from'],
    ['to 25:00', entry({ to: '25:00' }), 'spec.warmSchedule[0].to'],
    ['from 8:00 (no leading zero)', entry({ from: '8:00' }), 'spec.warmSchedule[0].from'],
    ['from equal to to (CEL)', entry({ from: '09:00', to: '09:00' }), 'spec.warmSchedule[0].to'],
    ['an unknown day', entry({ days: ['Monday'] }), 'spec.warmSchedule[0].days[0]'],
    ['no days', entry({ days: [] }), 'spec.warmSchedule[0].days'],
    ['a negative warm', entry({ warm: -1 }), 'spec.warmSchedule[0].warm'],
  ])('rejects %s', (_label, e, path) => {
    expect(issues(pool({ ...base, warmSchedule: [e] })).map((i) => i.path)).toContain(path);
  });

  it('rejects a time zone that is not zone-shaped, and releaseAfterSeconds beyond a day', () => {
    expect(issues(pool({ ...base, timeZone: 'Europe Berlin' })).map((i) => i.path)).toEqual(['spec.timeZone']);
    expect(issues(pool({ ...base, releaseAfterSeconds: 86401 })).map((i) => i.path)).toEqual(['spec.releaseAfterSeconds']);
    expect(issues(pool({ ...base, releaseAfterSeconds: 0 }))).toEqual([]);
  });

  it('keeps pool names within a label value (63 characters) (CEL)', () => {
    expect(issues(pool(base, 'x'.repeat(63)))).toEqual([]);
    expect(issues(pool(base, 'x'.repeat(64)))[0]?.message).toContain('at most 63 characters');
  });

  it('the CRD carries the HH:MM patterns and the from != to rule', () => {
    const schema = JSON.stringify(buildCrd(DesktopPoolKind));
    expect(schema).toContain('"rule":"self.from != self.to"');
    expect(schema).toContain('"pattern":"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"');
    expect(schema).toContain('"rule":"size(self.metadata.name) <= 63"');
  });
});
