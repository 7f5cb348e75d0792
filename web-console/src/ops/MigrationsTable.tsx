import { ConfirmButton } from './ConfirmButton';
import { formatAge } from './format';
import { migrationProgress, route, splitMigrations } from './migrations';
import type { Migration } from './types';

export interface MigrationsTableProps {
  migrations: readonly Migration[];
  now: number;
  abort: (m: Migration) => Promise<unknown>;
  onDone?: () => void;
}

function Progress({ m }: { m: Migration }) {
  const p = migrationProgress(m);
  return (
    <div className="ops-bar ops-bar--progress">
      {/* No value = indeterminate: the migration runs but libvirt has not reported bytes yet. */}
      <progress className="ops-progress" max={100} {...(p.percent !== undefined && { value: p.percent })} aria-label={`${m.tenant}/${m.desktop} migration progress`} aria-valuetext={p.label} />
      <span className="ops-bar__label">{p.label}</span>
    </div>
  );
}

export function MigrationsTable({ migrations, now, abort, onDone }: MigrationsTableProps) {
  const { active, finished } = splitMigrations(migrations);
  return (
    <>
      {active.length === 0 ? (
        <p className="ops-panel__note">No migrations in flight.</p>
      ) : (
        <div className="ops-table-wrap">
          <table className="ops-table">
            <caption className="ops-visually-hidden">Migrations in flight</caption>
            <thead>
              <tr>
                <th scope="col">Desktop</th>
                <th scope="col">Hosts</th>
                <th scope="col">Phase</th>
                <th scope="col">Progress</th>
                <th scope="col">Started</th>
                <th scope="col">
                  <span className="ops-visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {active.map((m) => (
                <tr key={`${m.tenant}/${m.name}`}>
                  <th scope="row">
                    {m.tenant}/{m.desktop}
                  </th>
                  <td>{route(m)}</td>
                  <td>
                    {m.aborting ? 'Aborting' : m.phase}
                    {m.message && <div className="ops-muted">{m.message}</div>}
                  </td>
                  <td>
                    <Progress m={m} />
                  </td>
                  <td>{formatAge(m.startTime ?? m.createdAt, now)}</td>
                  <td>
                    <ConfirmButton
                      label="Abort"
                      accessibleName={`Abort migration of ${m.tenant}/${m.desktop}`}
                      question={`Abort moving ${m.desktop}? The desktop stays on ${m.sourceHost ?? 'its host'}.`}
                      confirmLabel="Abort migration"
                      busyLabel="Aborting…"
                      disabled={m.aborting}
                      action={() => abort(m)}
                      {...(onDone && { onDone })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {finished.length > 0 && (
        <details className="ops-recent">
          <summary>Recently finished ({finished.length})</summary>
          <ul>
            {finished.map((m) => (
              <li key={`${m.tenant}/${m.name}`}>
                <strong>
                  {m.tenant}/{m.desktop}
                </strong>{' '}
                {route(m)}: <span className={`ops-state ops-state--${m.phase.toLowerCase()}`}>{m.phase}</span>
                {m.phase === 'Succeeded' ? ` (${migrationProgress(m).label})` : m.message ? ` (${m.message})` : ''}, {formatAge(m.endTime ?? m.startTime, now)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}
