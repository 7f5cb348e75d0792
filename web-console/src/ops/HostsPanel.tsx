import { memoryBar, hostState, vcpuBar } from './capacity';
import { CapacityBar } from './CapacityBar';
import { ConfirmButton } from './ConfirmButton';
import { formatAge } from './format';
import type { Host } from './types';

export interface HostsTableProps {
  hosts: readonly Host[];
  now: number;
  drain: (host: string) => Promise<unknown>;
  undrain: (host: string) => Promise<unknown>;
  onDone?: () => void;
}

export function HostsTable({ hosts, now, drain, undrain, onDone }: HostsTableProps) {
  if (hosts.length === 0) return <p className="ops-panel__note">No hosts are registered.</p>;
  return (
    <div className="ops-table-wrap">
      <table className="ops-table">
        <caption className="ops-visually-hidden">Hosts with their state, allocation and guests</caption>
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">State</th>
            <th scope="col">vCPUs allocated</th>
            <th scope="col">Memory allocated</th>
            <th scope="col">Guests</th>
            <th scope="col">Heartbeat</th>
            <th scope="col">
              <span className="ops-visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => {
            const state = hostState(h);
            return (
              <tr key={h.name}>
                <th scope="row">
                  {h.name}
                  {h.hypervisor && <span className="ops-muted"> {h.hypervisor.type}</span>}
                </th>
                <td>
                  <span className={`ops-state ops-state--${state.state}`}>{state.label}</span>
                  {h.maintenance && h.drainMessage && <div className="ops-muted">{h.drainMessage}</div>}
                </td>
                <td>
                  <CapacityBar bar={vcpuBar(h)} name={`${h.name} vCPUs allocated`} />
                </td>
                <td>
                  <CapacityBar bar={memoryBar(h)} name={`${h.name} memory allocated`} />
                </td>
                <td>
                  <span title="Guests the host agent reports / desktops placed here">
                    {h.guestCount ?? '—'}
                    <span className="ops-muted"> ({h.desktops} placed)</span>
                  </span>
                </td>
                <td>{formatAge(h.heartbeatTime, now)}</td>
                <td>
                  {h.maintenance ? (
                    <ConfirmButton
                      label="Undrain"
                      accessibleName={`Undrain ${h.name}`}
                      question={`Take ${h.name} out of maintenance? New desktops may be placed there again.`}
                      confirmLabel={`Undrain ${h.name}`}
                      busyLabel="Undraining…"
                      action={() => undrain(h.name)}
                      {...(onDone && { onDone })}
                    />
                  ) : (
                    <ConfirmButton
                      label="Drain"
                      accessibleName={`Drain ${h.name}`}
                      question={`Drain ${h.name}? Its ${h.desktops} desktop${h.desktops === 1 ? '' : 's'} will be live-migrated to other hosts.`}
                      confirmLabel={`Drain ${h.name}`}
                      busyLabel="Draining…"
                      action={() => drain(h.name)}
                      {...(onDone && { onDone })}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
