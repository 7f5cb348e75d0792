import { formatClock } from './format';
import type { AuditEntry } from './types';

/** One line per entry's details, e.g. `reason=idle, bytes=1234`; objects are shown as JSON. */
export function auditDetails(details: Record<string, unknown> | undefined): string {
  if (!details) return '';
  return Object.entries(details)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean)}`)
    .join(', ');
}

export function AuditList({ entries }: { entries: readonly AuditEntry[] }) {
  if (entries.length === 0) return <p className="ops-panel__note">Nothing recorded yet.</p>;
  return (
    <div className="ops-table-wrap">
      <table className="ops-table">
        <caption className="ops-visually-hidden">Recent audit entries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Action</th>
            <th scope="col">Who</th>
            <th scope="col">Desktop</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>
                <time dateTime={e.time}>{formatClock(e.time)}</time>
              </td>
              <th scope="row">{e.action}</th>
              <td>{e.user ? `${e.user}${e.tenant ? ` (${e.tenant})` : ''}` : (e.tenant ?? '—')}</td>
              <td>{e.desktop ?? '—'}</td>
              <td className="ops-details">{auditDetails(e.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
