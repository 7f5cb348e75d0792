import { countPhases } from './phases';
import type { DesktopSummary } from './types';

export function PhasesTable({ desktops }: { desktops: readonly DesktopSummary[] }) {
  const table = countPhases(desktops);
  if (table.totals.total === 0) return <p className="ops-panel__note">No desktops.</p>;
  const rows = table.rows.length > 1 ? [...table.rows, table.totals] : table.rows;
  return (
    <div className="ops-table-wrap">
      <table className="ops-table ops-table--numeric">
        <caption className="ops-visually-hidden">Desktops by phase and tenant</caption>
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            {table.phases.map((p) => (
              <th scope="col" key={p}>
                {p}
              </th>
            ))}
            <th scope="col">Total</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r === table.totals ? '\u0000totals' : r.tenant} className={r === table.totals ? 'ops-table__totals' : undefined}>
              <th scope="row">{r.tenant}</th>
              {table.phases.map((p) => (
                <td key={p} className={`ops-phase ops-phase--${p.toLowerCase()}`}>
                  {r.counts[p] ?? 0}
                </td>
              ))}
              <td>{r.total}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
