import type { WarmScheduleEntry } from '@deskplane/api';
import { describe, expect, it } from 'vitest';
import { effectiveWarm, entryMatches, instantOf, isKnownTimeZone, localTime, nextBoundary } from './schedule';

const at = (iso: string) => new Date(iso);
const entry = (days: WarmScheduleEntry['days'], from: string, to: string, warm = 5): WarmScheduleEntry => ({ days, from, to, warm });
const WEEKDAYS: WarmScheduleEntry['days'] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'];

describe('entryMatches', () => {
  const office = entry(WEEKDAYS, '08:00', '18:00');
  it.each([
    ['Mon', '07:59', false],
    ['Mon', '08:00', true],
    ['Fri', '17:59', true],
    ['Fri', '18:00', false],
    ['Sat', '10:00', false],
  ] as const)('office hours: %s %s → %s', (day, time, expected) => {
    const [h, m] = time.split(':').map(Number);
    expect(entryMatches(office, { day, minutes: h! * 60 + m! })).toBe(expected);
  });

  const night = entry(['Fri'], '22:00', '06:00');
  it.each([
    ['Fri', '21:59', false],
    ['Fri', '22:00', true],
    ['Fri', '23:59', true],
    ['Sat', '00:00', true], // the window runs on into the next day…
    ['Sat', '05:59', true],
    ['Sat', '06:00', false],
    ['Fri', '05:00', false], // …but only after a listed day: Thursday is not
    ['Sat', '22:30', false],
  ] as const)('overnight Fri 22:00-06:00: %s %s → %s', (day, time, expected) => {
    const [h, m] = time.split(':').map(Number);
    expect(entryMatches(night, { day, minutes: h! * 60 + m! })).toBe(expected);
  });

  it('24:00 is the end of the day; 00:00 as the end of an overnight window adds nothing', () => {
    expect(entryMatches(entry(['Mon'], '20:00', '24:00'), { day: 'Mon', minutes: 23 * 60 + 59 })).toBe(true);
    expect(entryMatches(entry(['Mon'], '20:00', '24:00'), { day: 'Tue', minutes: 0 })).toBe(false);
    expect(entryMatches(entry(['Mon'], '20:00', '00:00'), { day: 'Tue', minutes: 0 })).toBe(false);
  });
});

describe('localTime in a zone', () => {
  it('reads weekday and time in the zone, across the UTC day boundary', () => {
    // Thursday 20:00 UTC is already Friday 09:00 in Auckland (NZDT, +13) and Thursday 12:00 in Los Angeles (PST, -8).
    expect(localTime(at('2026-01-15T20:00:00Z'), 'Pacific/Auckland')).toEqual({ day: 'Fri', minutes: 9 * 60 });
    expect(localTime(at('2026-01-15T20:00:00Z'), 'America/Los_Angeles')).toEqual({ day: 'Thu', minutes: 12 * 60 });
    expect(localTime(at('2026-01-15T00:30:00Z'), 'UTC')).toEqual({ day: 'Thu', minutes: 30 });
  });

  it('knows zones the runtime knows, and no others', () => {
    expect(isKnownTimeZone('Europe/Berlin')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('instantOf: local wall time → instant', () => {
  it('uses the offset in force on that date (winter, summer)', () => {
    expect(new Date(instantOf(2026, 1, 15, 8 * 60, 'Europe/Berlin')).toISOString()).toBe('2026-01-15T07:00:00.000Z');
    expect(new Date(instantOf(2026, 7, 1, 8 * 60, 'Europe/Berlin')).toISOString()).toBe('2026-07-01T06:00:00.000Z');
  });

  it('a time skipped by spring-forward is reached when the clock jumps', () => {
    // 2026-03-29: Berlin goes from 02:00 CET straight to 03:00 CEST at 01:00 UTC; 02:30 never happens.
    expect(new Date(instantOf(2026, 3, 29, 2 * 60 + 30, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });

  it('a time repeated at fall-back maps to its first occurrence', () => {
    // 2026-10-25: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    expect(new Date(instantOf(2026, 10, 25, 2 * 60 + 30, 'Europe/Berlin')).toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });
});

describe('nextBoundary', () => {
  const office = [entry(WEEKDAYS, '08:00', '18:00')];
  it('is the next from or to on the local clock', () => {
    expect(nextBoundary(office, at('2026-01-15T10:00:00Z'), 'UTC')?.toISOString()).toBe('2026-01-15T18:00:00.000Z');
    expect(nextBoundary(office, at('2026-01-15T18:00:00Z'), 'UTC')?.toISOString()).toBe('2026-01-16T08:00:00.000Z');
    expect(nextBoundary(office, at('2026-01-15T10:00:00Z'), 'Europe/Berlin')?.toISOString()).toBe('2026-01-15T17:00:00.000Z');
  });

  it('lands on the DST jump for a time the jump skips', () => {
    expect(nextBoundary([entry(['Sun'], '02:30', '05:00')], at('2026-03-29T00:00:00Z'), 'Europe/Berlin')?.toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });

  it('is undefined without entries', () => {
    expect(nextBoundary([], at('2026-01-15T10:00:00Z'), 'UTC')).toBeUndefined();
  });
});

describe('effectiveWarm', () => {
  const spec = { size: 10, warm: 2, timeZone: 'Europe/Berlin', warmSchedule: [entry(WEEKDAYS, '08:00', '18:00', 6), entry(['Thu'], '07:00', '09:00', 8), entry(['Fri'], '22:00', '06:00', 0)] };

  it('is spec.warm without a schedule, capped at size', () => {
    expect(effectiveWarm({ size: 3, warm: 2 }, at('2026-01-15T10:00:00Z'))).toEqual({ warm: 2, source: 'spec.warm' });
    expect(effectiveWarm({ size: 3, warm: 2, warmSchedule: [entry(WEEKDAYS, '00:00', '24:00', 9)] }, at('2026-01-15T10:00:00Z')).warm).toBe(3);
  });

  it('takes the highest matching entry, in the pool zone', () => {
    // Thursday 07:30 UTC = 08:30 in Berlin: office hours (6) and the Thursday rush (8) both match.
    expect(effectiveWarm(spec, at('2026-01-15T07:30:00Z'))).toMatchObject({ warm: 8, source: 'warmSchedule[1] (Thu 07:00-09:00)', nextChangeAt: at('2026-01-15T08:00:00Z') });
    // 09:30 Berlin: only office hours.
    expect(effectiveWarm(spec, at('2026-01-15T08:30:00Z'))).toMatchObject({ warm: 6, source: 'warmSchedule[0] (Mon,Tue,Wed,Thu,Fri 08:00-18:00)' });
    // 05:30 UTC = 06:30 Berlin: nothing matches yet in Berlin, though 07:00-09:00 would in UTC+2.
    expect(effectiveWarm(spec, at('2026-01-15T05:30:00Z'))).toMatchObject({ warm: 2, source: 'spec.warm', nextChangeAt: at('2026-01-15T06:00:00Z') });
  });

  it('an entry can lower warm below spec.warm (overnight into Saturday)', () => {
    // Saturday 03:00 Berlin = Saturday 02:00 UTC, inside Fri 22:00-06:00.
    expect(effectiveWarm(spec, at('2026-01-17T02:00:00Z'))).toMatchObject({ warm: 0, source: 'warmSchedule[2] (Fri 22:00-06:00)', nextChangeAt: at('2026-01-17T05:00:00Z') });
    expect(effectiveWarm(spec, at('2026-01-17T05:00:00Z')).warm).toBe(2);
  });

  it('follows summer time', () => {
    // 1 July 2026 is a Wednesday; 06:30 UTC = 08:30 CEST.
    expect(effectiveWarm(spec, at('2026-07-01T06:30:00Z')).warm).toBe(6);
    expect(effectiveWarm({ ...spec, timeZone: 'UTC' }, at('2026-07-01T06:30:00Z')).warm).toBe(2);
  });

  it('ignores the schedule for an unknown zone, and says so', () => {
    expect(effectiveWarm({ ...spec, timeZone: 'Europe/Atlantis' }, at('2026-01-15T08:30:00Z'))).toEqual({ warm: 2, source: 'spec.warm', invalidTimeZone: 'Europe/Atlantis' });
  });
});
