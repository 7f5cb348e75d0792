/**
 * The platform operators' dashboard (`/ui/ops`): hosts, desktops by phase, migrations,
 * console sessions and their bandwidth, queues, the audit log. Everything polls every 2 s
 * while the tab is visible.
 */
import { useMemo } from 'react';
import { ApiError, api as defaultApi, type Api } from '../api/client';
import { AuditList } from './AuditList';
import { BandwidthSummary, useSessionSamples } from './BandwidthPanel';
import { HostsTable } from './HostsPanel';
import { MigrationsTable } from './MigrationsTable';
import { Panel, panelState } from './Panel';
import { PhasesTable } from './PhasesTable';
import { opsActions, useOpsData, useRefreshOps } from './queries';
import { QueuesTable } from './QueuesTable';
import { SessionsTable } from './SessionsTable';
import './ops.css';

export interface OpsDashboardProps {
  /** The API client; tests pass one bound to a test server. */
  client?: Api;
}

export function OpsDashboard({ client = defaultApi }: OpsDashboardProps) {
  const data = useOpsData(client);
  const actions = useMemo(() => opsActions(client), [client]);
  const refresh = useRefreshOps();
  const samples = useSessionSamples(data.sessions.data, data.sessions.dataUpdatedAt);
  const now = Date.now();

  const denied = [data.hosts.error, data.sessions.error].find((e) => e instanceof ApiError && e.status === 403);
  if (denied) {
    return (
      <div className="ops">
        <h1>Operations</h1>
        <p className="ops-panel__error" role="alert">
          This page is for platform operators; your account does not have that role.
        </p>
      </div>
    );
  }

  const updated = Math.max(data.hosts.dataUpdatedAt, data.sessions.dataUpdatedAt);
  return (
    <div className="ops">
      <header className="ops__header">
        <h1 id="ops-title">Operations</h1>
        <p className="ops-muted">
          Live, every 2 s{updated > 0 && <> · updated {new Date(updated).toLocaleTimeString(undefined, { hour12: false })}</>}
        </p>
      </header>
      <div className="ops__grid">
        <Panel id="ops-hosts" title="Hosts" className="ops-panel--wide" {...panelState(data.hosts)}>
          <HostsTable hosts={data.hosts.data ?? []} now={now} drain={actions.drain} undrain={actions.undrain} onDone={refresh} />
        </Panel>
        <Panel id="ops-phases" title="Desktops by phase" {...panelState(data.desktops)}>
          <PhasesTable desktops={data.desktops.data ?? []} />
        </Panel>
        <Panel id="ops-queues" title="Queue depth" {...panelState(data.queues)}>
          <QueuesTable queues={data.queues.data ?? []} />
        </Panel>
        <Panel id="ops-migrations" title="Migrations" className="ops-panel--wide" {...panelState(data.migrations)}>
          <MigrationsTable migrations={data.migrations.data ?? []} now={now} abort={actions.abortMigration} onDone={refresh} />
        </Panel>
        <Panel id="ops-sessions" title="Gateway sessions" className="ops-panel--wide" {...panelState(data.sessions)}>
          <SessionsTable sessions={data.sessions.data ?? []} now={now} kill={actions.killSession} onDone={refresh} />
        </Panel>
        <Panel id="ops-bandwidth" title="Bandwidth per tenant" className="ops-panel--wide" {...panelState(data.sessions)}>
          <BandwidthSummary samples={samples} />
        </Panel>
        <Panel id="ops-audit" title="Recent activity" className="ops-panel--wide" {...panelState(data.audit)}>
          <AuditList entries={data.audit.data ?? []} />
        </Panel>
      </div>
    </div>
  );
}

export default OpsDashboard;
