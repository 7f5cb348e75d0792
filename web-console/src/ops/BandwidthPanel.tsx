import { Component, lazy, Suspense, useEffect, useMemo, useState, type ReactNode } from 'react';
import { formatRate } from './format';
import { addSample, rateSeries, summarize, type Sample } from './rates';
import type { Session } from './types';

const BandwidthChart = lazy(() => import('./BandwidthChart'));

/** Five minutes of 2 s polls. */
export const WINDOW_MS = 5 * 60_000;

/** Keeps successive /ops/sessions answers; `updatedAt` (react-query's dataUpdatedAt) tells one answer from the next even when the data is unchanged. */
export function useSessionSamples(sessions: readonly Session[] | undefined, updatedAt: number, windowMs = WINDOW_MS): Sample[] {
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    if (sessions === undefined || updatedAt === 0) return;
    setSamples((prev) => addSample(prev, { t: updatedAt, sessions }, windowMs));
  }, [sessions, updatedAt, windowMs]);
  return samples;
}

/** A chart that cannot draw (no canvas, a uPlot error) must not take the dashboard down: the table below says the same. */
class ChartBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override render() {
    return this.state.failed ? <p className="ops-panel__note">The chart cannot be drawn here; the table has the numbers.</p> : this.props.children;
  }
}

export function BandwidthSummary({ samples }: { samples: readonly Sample[] }) {
  const series = useMemo(() => rateSeries(samples), [samples]);
  const summary = summarize(series);
  return (
    <>
      {series.times.length === 0 ? (
        <p className="ops-panel__note" role="status">
          Measuring… (a rate needs two samples, 2 s apart)
        </p>
      ) : summary.length === 0 ? (
        <p className="ops-panel__note">No console traffic in the last {Math.round(WINDOW_MS / 60_000)} minutes.</p>
      ) : (
        <>
          <ChartBoundary>
            <Suspense fallback={<div className="ops-chart ops-chart--loading">Loading chart…</div>}>
              <BandwidthChart series={series} />
            </Suspense>
          </ChartBoundary>
          <table className="ops-table ops-table--numeric ops-table--compact">
            <caption>Bandwidth per tenant, both directions, last {Math.round(WINDOW_MS / 60_000)} minutes</caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Now</th>
                <th scope="col">Average</th>
                <th scope="col">Peak</th>
              </tr>
            </thead>
            <tbody>
              {summary.map((s) => (
                <tr key={s.tenant}>
                  <th scope="row">{s.tenant}</th>
                  <td>{s.current === undefined ? '—' : formatRate(s.current)}</td>
                  <td>{formatRate(s.mean)}</td>
                  <td>{formatRate(s.peak)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
