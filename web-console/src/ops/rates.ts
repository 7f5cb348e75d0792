/**
 * Bandwidth per tenant from successive GET /ops/sessions samples. The gateway reports
 * cumulative byte counters per session channel; a rate is the difference between two
 * samples over the time between them.
 *
 * Counters are not monotonic across a sample pair: a session ends (its counters vanish), a
 * channel reconnects during a migration (its counter starts again at 0), a gateway restarts.
 * None of those may turn into a negative rate, so differences are taken per channel and a
 * counter that went down counts only what it shows now (bytes since it restarted).
 */
import type { Session } from './types';

export interface Sample {
  /** When the answer arrived, ms since the epoch. */
  t: number;
  sessions: readonly Session[];
}

export interface BandwidthSeries {
  /** Seconds since the epoch (uPlot's x axis), one per interval, at the interval's end. */
  times: number[];
  /** Sorted. */
  tenants: string[];
  /** rates[i][j]: tenant i's bytes/s in interval j; null marks a gap (the line breaks). */
  rates: (number | null)[][];
}

export interface RateOptions {
  /** Intervals longer than this (the tab was hidden, requests failed) are shown as gaps rather than one long average. */
  maxGapMs?: number;
}

export const DEFAULT_MAX_GAP_MS = 10_000;

/** Bytes both ways per channel, keyed by name and occurrence (a session may hold two display channels). */
function channelTotals(s: Session): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const c of s.channels) {
    const n = seen.get(c.name) ?? 0;
    seen.set(c.name, n + 1);
    out.set(`${c.name}#${n}`, c.bytesToClient + c.bytesToGuest);
  }
  return out;
}

/**
 * Bytes a session moved between two samples. A session absent from the earlier sample opened
 * in between, so all of its bytes are new; a counter that went down was restarted.
 */
export function sessionDelta(prev: Session | undefined, cur: Session): number {
  const now = channelTotals(cur);
  const before = prev ? channelTotals(prev) : new Map<string, number>();
  let delta = 0;
  for (const [channel, total] of now) {
    const was = before.get(channel);
    delta += was === undefined || total < was ? total : total - was;
  }
  return delta;
}

/** Bytes per tenant between two samples. Sessions that ended in between add nothing: their last bytes were never reported. */
export function tenantDeltas(prev: Sample, cur: Sample): Map<string, number> {
  const earlier = new Map(prev.sessions.map((s) => [s.key, s]));
  const out = new Map<string, number>();
  for (const s of cur.sessions) {
    const before = earlier.get(s.key);
    // The same key under another tenant is another session, not a continuation.
    const d = sessionDelta(before && before.tenant === s.tenant ? before : undefined, s);
    out.set(s.tenant, (out.get(s.tenant) ?? 0) + d);
  }
  return out;
}

export function rateSeries(samples: readonly Sample[], opts: RateOptions = {}): BandwidthSeries {
  const maxGap = opts.maxGapMs ?? DEFAULT_MAX_GAP_MS;
  const tenants = [...new Set(samples.flatMap((s) => s.sessions.map((x) => x.tenant)))].sort();
  const index = new Map(tenants.map((t, i) => [t, i]));
  const times: number[] = [];
  const rates: (number | null)[][] = tenants.map(() => []);
  for (let j = 1; j < samples.length; j++) {
    const prev = samples[j - 1]!;
    const cur = samples[j]!;
    const dt = cur.t - prev.t;
    if (dt <= 0) continue;
    times.push(cur.t / 1000);
    if (dt > maxGap) {
      for (const r of rates) r.push(null);
      continue;
    }
    const deltas = tenantDeltas(prev, cur);
    for (const r of rates) r.push(0);
    for (const [tenant, bytes] of deltas) rates[index.get(tenant)!]![times.length - 1] = bytes / (dt / 1000);
  }
  return { times, tenants, rates };
}

/** Adds a sample and drops those older than the window; an answer that is not newer than the last one is ignored. */
export function addSample(samples: readonly Sample[], next: Sample, windowMs: number): Sample[] {
  const last = samples[samples.length - 1];
  if (last && next.t <= last.t) return samples as Sample[];
  const from = next.t - windowMs;
  return [...samples.filter((s) => s.t >= from), next];
}

export interface TenantSummary {
  tenant: string;
  /** The latest known rate; undefined when the last interval is a gap. */
  current: number | undefined;
  peak: number;
  mean: number;
}

export function summarize(series: BandwidthSeries): TenantSummary[] {
  return series.tenants.map((tenant, i) => {
    const values = series.rates[i]!;
    const known = values.filter((v): v is number => v !== null);
    const last = values[values.length - 1];
    return {
      tenant,
      current: last === null || last === undefined ? undefined : last,
      peak: known.length ? Math.max(...known) : 0,
      mean: known.length ? known.reduce((a, b) => a + b, 0) / known.length : 0,
    };
  });
}

/** Bytes a session has moved each way so far (the sessions table). */
export function sessionBytes(s: Session): { toClient: number; toGuest: number } {
  let toClient = 0;
  let toGuest = 0;
  for (const c of s.channels) {
    toClient += c.bytesToClient;
    toGuest += c.bytesToGuest;
  }
  return { toClient, toGuest };
}
