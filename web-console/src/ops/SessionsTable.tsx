import { ConfirmButton } from './ConfirmButton';
import { formatAge, formatBytes } from './format';
import { sessionBytes } from './rates';
import type { Session } from './types';

export interface SessionsTableProps {
  sessions: readonly Session[];
  now: number;
  kill: (key: string) => Promise<unknown>;
  onDone?: () => void;
}

export function SessionsTable({ sessions, now, kill, onDone }: SessionsTableProps) {
  if (sessions.length === 0) return <p className="ops-panel__note">No console sessions.</p>;
  const sorted = [...sessions].sort((a, b) => a.tenant.localeCompare(b.tenant) || a.openedAt.localeCompare(b.openedAt));
  return (
    <div className="ops-table-wrap">
      <table className="ops-table">
        <caption className="ops-visually-hidden">Gateway console sessions</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Tenant</th>
            <th scope="col">Desktop</th>
            <th scope="col">Since</th>
            <th scope="col">To client</th>
            <th scope="col">To guest</th>
            <th scope="col">
              <span className="ops-visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((s) => {
            const bytes = sessionBytes(s);
            return (
              <tr key={s.key}>
                <th scope="row">
                  {s.user}
                  <div className="ops-muted">
                    {s.transport} from {s.source}
                  </div>
                </th>
                <td>{s.tenant}</td>
                <td>
                  {s.desktop}
                  {s.migrating && <span className="ops-state ops-state--draining"> migrating</span>}
                </td>
                <td>
                  <time dateTime={s.openedAt}>{formatAge(s.openedAt, now)}</time>
                </td>
                <td className="ops-num">{formatBytes(bytes.toClient)}</td>
                <td className="ops-num">{formatBytes(bytes.toGuest)}</td>
                <td>
                  <ConfirmButton
                    label="Kill"
                    accessibleName={`Kill session of ${s.user} on ${s.desktop}`}
                    question={`End ${s.user}'s session on ${s.desktop}? The desktop keeps running.`}
                    confirmLabel="Kill session"
                    busyLabel="Ending…"
                    action={() => kill(s.key)}
                    {...(onDone && { onDone })}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
