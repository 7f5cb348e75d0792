/** The uPlot chart: loaded lazily, so the dashboard's first paint does not wait for it. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatRate } from './format';
import type { BandwidthSeries } from './rates';

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

export function tenantColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

function options(series: BandwidthSeries, width: number): uPlot.Options {
  return {
    width,
    height: 220,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { auto: true, range: (_u, _min, max) => [0, Math.max(1024, max * 1.1)] } },
    axes: [{}, { size: 80, values: (_u, ticks) => ticks.map((v) => formatRate(v)) }],
    series: [
      {},
      ...series.tenants.map((tenant, i) => ({
        label: tenant,
        stroke: tenantColor(i),
        width: 2,
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : formatRate(v)),
      })),
    ],
  };
}

export default function BandwidthChart({ series }: { series: BandwidthSeries }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = useRef('');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data: uPlot.AlignedData = [series.times, ...series.rates];
    const key = series.tenants.join('\u0000');
    // A new tenant changes the series list, which uPlot cannot take through setData.
    if (!plot.current || shape.current !== key) {
      plot.current?.destroy();
      plot.current = new uPlot(options(series, el.clientWidth || 600), data, el);
      shape.current = key;
    } else {
      plot.current.setData(data);
    }
  }, [series]);

  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  return <div className="ops-chart" ref={box} aria-hidden="true" />;
}
