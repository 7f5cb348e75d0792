/**
 * Pure: the warm count a pool's warmSchedule asks for at a given instant, and when that
 * answer may next change. Times are wall-clock times in the pool's IANA zone, read with
 * Intl (no time-zone database of our own), so daylight saving comes from the runtime's ICU.
 */
import { Weekdays, type DesktopPoolSpec, type Weekday, type WarmScheduleEntry } from '@deskplane/api';

/** Wall-clock time in a zone: weekday and minutes since local midnight. */
export interface LocalTime {
  day: Weekday;
  minutes: number;
}

export interface EffectiveWarm {
  warm: number;
  /** What set it: `spec.warm`, or the winning entry as `warmSchedule[i] (Mon,Tue 08:00-18:00)`. */
  source: string;
  /** The next instant the schedule may change the answer; undefined without a schedule. */
  nextChangeAt?: Date;
  /** Set when timeZone is not a zone the runtime knows: the schedule is ignored. */
  invalidTimeZone?: string;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // Throws RangeError for a zone the runtime does not know.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  day: Weekday;
}

function wallOf(ms: number, timeZone: string): Wall {
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) p[part.type] = part.value;
  return { y: +p.year!, mo: +p.month!, d: +p.day!, h: +p.hour!, mi: +p.minute!, s: +p.second!, day: p.weekday as Weekday };
}

/** The wall clock at `ms`, written as if it were UTC: comparable with Date.UTC values. */
function wallMs(ms: number, timeZone: string): number {
  const w = wallOf(ms, timeZone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
}

export function localTime(at: Date, timeZone: string): LocalTime {
  const w = wallOf(at.getTime(), timeZone);
  return { day: w.day, minutes: w.h * 60 + w.mi };
}

export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

function previousDay(day: Weekday): Weekday {
  return Weekdays[(Weekdays.indexOf(day) + 6) % 7]!;
}

/**
 * An entry covers [from, to) on each of its days; a window with to earlier than from
 * starts on its day and ends the next day (Fri 22:00-06:00 covers Saturday morning).
 */
export function entryMatches(e: Pick<WarmScheduleEntry, 'days' | 'from' | 'to'>, t: LocalTime): boolean {
  const from = minutesOf(e.from);
  const to = minutesOf(e.to);
  if (from < to) return e.days.includes(t.day) && t.minutes >= from && t.minutes < to;
  return (e.days.includes(t.day) && t.minutes >= from) || (e.days.includes(previousDay(t.day)) && t.minutes < to);
}

/**
 * The first instant whose wall clock in `timeZone` reads the given local date and minute.
 * A time skipped by a spring-forward gap maps to the instant the clock jumps past it; a
 * time repeated at fall-back maps to its first occurrence.
 */
export function instantOf(y: number, mo: number, d: number, minutes: number, timeZone: string): number {
  const wall = Date.UTC(y, mo - 1, d, 0, minutes);
  // Offsets a day either side bracket any transition (zones change at most a few times a year).
  const offset = (ms: number): number => wallMs(ms, timeZone) - ms;
  const [lo, hi] = [wall - offset(wall - DAY_MS), wall - offset(wall + DAY_MS)].sort((a, b) => a - b) as [number, number];
  if (wallMs(lo, timeZone) === wall) return lo;
  if (wallMs(hi, timeZone) === wall) return hi;
  // In a gap: the minute at which the wall clock first reads `wall` or later.
  let a = lo;
  let b = hi;
  while (b - a > 60_000) {
    const mid = a + Math.floor((b - a) / 120_000) * 60_000;
    if (wallMs(mid, timeZone) >= wall) b = mid;
    else a = mid;
  }
  return wallMs(a, timeZone) >= wall ? a : b;
}

/**
 * The next instant after `at` at which the local clock reads any entry's from or to. A
 * superset of the real boundaries (it ignores the days), so at worst a reconcile finds
 * nothing changed; it never misses one.
 */
export function nextBoundary(entries: readonly Pick<WarmScheduleEntry, 'from' | 'to'>[], at: Date, timeZone: string): Date | undefined {
  if (!entries.length) return undefined;
  const times = new Set(entries.flatMap((e) => [minutesOf(e.from) % 1440, minutesOf(e.to) % 1440]));
  const today = wallOf(at.getTime(), timeZone);
  let best: number | undefined;
  for (let k = 0; k <= 2; k++) {
    const day = new Date(Date.UTC(today.y, today.mo - 1, today.d + k));
    for (const m of times) {
      const t = instantOf(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), m, timeZone);
      if (t > at.getTime() && (best === undefined || t < best)) best = t;
    }
  }
  return best === undefined ? undefined : new Date(best);
}

const label = (e: WarmScheduleEntry, i: number): string => `warmSchedule[${i}] (${e.days.join(',')} ${e.from}-${e.to})`;

/** spec.warm, or the highest warm among the entries covering `at`; never above size. */
export function effectiveWarm(spec: Pick<DesktopPoolSpec, 'size' | 'warm' | 'warmSchedule' | 'timeZone'>, at: Date): EffectiveWarm {
  const base = { warm: Math.min(spec.warm ?? 0, spec.size), source: 'spec.warm' };
  const entries = spec.warmSchedule ?? [];
  if (!entries.length) return base;
  const zone = spec.timeZone ?? 'UTC';
  if (!isKnownTimeZone(zone)) return { ...base, invalidTimeZone: zone };
  const now = localTime(at, zone);
  let best: { warm: number; source: string } | undefined;
  entries.forEach((e, i) => {
    if (entryMatches(e, now) && (!best || e.warm > best.warm)) best = { warm: e.warm, source: label(e, i) };
  });
  const next = nextBoundary(entries, at, zone);
  const chosen = best ? { warm: Math.min(best.warm, spec.size), source: best.source } : base;
  return { ...chosen, ...(next ? { nextChangeAt: next } : {}) };
}
