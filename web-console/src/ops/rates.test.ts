import { describe, expect, it } from 'vitest';
import { addSample, rateSeries, sessionBytes, sessionDelta, summarize, tenantDeltas, type Sample } from './rates';
import type { Session } from './types';

function session(key: string, tenant: string, channels: [string, number, number][]): Session {
  return {
    key,
    user: 'u',
    tenant,
    desktop: `${tenant}/d`,
    source: '127.0.0.1:1',
    transport: 'tcp',
    openedAt: '2025-01-01T00:00:00Z',
    lastInputAt: '2025-01-01T00:00:00Z',
    policy: '',
    migrating: false,
    channels: channels.map(([name, bytesToClient, bytesToGuest]) => ({ name, bytesToClient, bytesToGuest })),
  };
}

const at = (t: number, ...sessions: Session[]): Sample => ({ t, sessions });

describe('sessionDelta', () => {
  it('is the growth of each channel, both directions', () => {
    const a = session('k', 'a', [['main', 100, 10], ['display', 1000, 0]]);
    const b = session('k', 'a', [['main', 150, 20], ['display', 3000, 0]]);
    expect(sessionDelta(a, b)).toBe(50 + 10 + 2000);
  });

  it('counts a restarted channel from zero instead of going negative', () => {
    // display reconnected (e.g. after a migration): its counter began again at 0.
    const a = session('k', 'a', [['main', 500, 50], ['display', 9000, 0]]);
    const b = session('k', 'a', [['main', 600, 50], ['display', 300, 0]]);
    expect(sessionDelta(a, b)).toBe(100 + 300);
  });

  it('does not subtract a channel that closed', () => {
    const a = session('k', 'a', [['main', 100, 0], ['playback', 5000, 0]]);
    const b = session('k', 'a', [['main', 110, 0]]);
    expect(sessionDelta(a, b)).toBe(10);
  });

  it('tells two channels of the same name apart', () => {
    const a = session('k', 'a', [['display', 100, 0], ['display', 1000, 0]]);
    const b = session('k', 'a', [['display', 200, 0], ['display', 1000, 0]]);
    expect(sessionDelta(a, b)).toBe(100);
  });

  it('counts everything of a session that opened between samples', () => {
    expect(sessionDelta(undefined, session('k', 'a', [['main', 70, 30]]))).toBe(100);
  });
});

describe('tenantDeltas', () => {
  it('adds sessions per tenant and ignores sessions that ended', () => {
    const prev = at(0, session('1', 'a', [['main', 100, 0]]), session('2', 'b', [['main', 100, 0]]), session('3', 'a', [['main', 1e9, 0]]));
    const cur = at(2000, session('1', 'a', [['main', 300, 0]]), session('2', 'b', [['main', 150, 0]]), session('4', 'a', [['main', 40, 0]]));
    expect(Object.fromEntries(tenantDeltas(prev, cur))).toEqual({ a: 200 + 40, b: 50 });
  });

  it('treats a key seen under another tenant as a new session', () => {
    const prev = at(0, session('1', 'a', [['main', 1000, 0]]));
    const cur = at(1000, session('1', 'b', [['main', 10, 0]]));
    expect(Object.fromEntries(tenantDeltas(prev, cur))).toEqual({ b: 10 });
  });
});

describe('rateSeries', () => {
  it('gives bytes per second per tenant at each interval end', () => {
    const series = rateSeries([
      at(10_000, session('1', 'a', [['main', 0, 0]])),
      at(12_000, session('1', 'a', [['main', 4000, 0]]), session('2', 'b', [['main', 1000, 0]])),
      at(14_000, session('1', 'a', [['main', 4000, 0]]), session('2', 'b', [['main', 3000, 0]])),
    ]);
    expect(series.times).toEqual([12, 14]);
    expect(series.tenants).toEqual(['a', 'b']);
    expect(series.rates).toEqual([
      [2000, 0],
      [500, 1000],
    ]);
  });

  it('never produces a negative rate when sessions end and counters reset', () => {
    const samples = [
      at(0, session('1', 'a', [['main', 1_000_000, 0]]), session('2', 'a', [['main', 5_000_000, 0]])),
      // session 2 ended, session 1's only channel restarted
      at(2000, session('1', 'a', [['main', 2000, 0]])),
      // and then everything ended
      at(4000),
    ];
    const series = rateSeries(samples);
    expect(series.rates).toEqual([[1000, 0]]);
    for (const r of series.rates.flat()) expect(r === null || r >= 0).toBe(true);
  });

  it('marks a long pause (hidden tab) as a gap instead of averaging over it', () => {
    const series = rateSeries(
      [at(0, session('1', 'a', [['main', 0, 0]])), at(60_000, session('1', 'a', [['main', 600_000, 0]])), at(62_000, session('1', 'a', [['main', 602_000, 0]]))],
      { maxGapMs: 10_000 },
    );
    expect(series.times).toEqual([60, 62]);
    expect(series.rates).toEqual([[null, 1000]]);
  });

  it('skips a sample that is not later than the one before', () => {
    const series = rateSeries([at(1000, session('1', 'a', [['main', 0, 0]])), at(1000, session('1', 'a', [['main', 10, 0]])), at(2000, session('1', 'a', [['main', 10, 0]]))]);
    expect(series.times).toEqual([2]);
  });

  it('has no points from a single sample', () => {
    expect(rateSeries([at(0, session('1', 'a', [['main', 5, 5]]))])).toEqual({ times: [], tenants: ['a'], rates: [[]] });
  });
});

describe('addSample', () => {
  it('keeps the window and ignores answers that are not newer', () => {
    let s: Sample[] = [];
    for (const t of [0, 2000, 4000, 6000]) s = addSample(s, at(t), 4000);
    expect(s.map((x) => x.t)).toEqual([2000, 4000, 6000]);
    expect(addSample(s, at(6000), 4000)).toBe(s);
  });
});

describe('summarize', () => {
  it('reports the latest, mean and peak per tenant, skipping gaps', () => {
    expect(summarize({ times: [1, 2, 3], tenants: ['a', 'b'], rates: [[100, null, 300], [0, 50, null]] })).toEqual([
      { tenant: 'a', current: 300, peak: 300, mean: 200 },
      { tenant: 'b', current: undefined, peak: 50, mean: 25 },
    ]);
  });
});

it('sessionBytes adds each direction over channels', () => {
  expect(sessionBytes(session('1', 'a', [['main', 1, 2], ['display', 30, 40]]))).toEqual({ toClient: 31, toGuest: 42 });
});
