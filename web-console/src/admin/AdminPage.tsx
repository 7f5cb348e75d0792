import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Desktop, List, Policy, Session, Tenant } from '../api/types';
import { StatusBadge } from '../portal/StatusBadge';
import { messageOf } from '../ui/messages';
import { Meter } from '../ui/Meter';
import { formatBytes, parseQuantity } from './quantity';

const LIVE = { refetchInterval: 5000, refetchIntervalInBackground: false } as const;

function Problem({ error, what }: { error: unknown; what: string }) {
  return (
    <p className="alert alert--error" role="alert">
      {what} cannot be loaded: {messageOf(error)}
    </p>
  );
}

export function AdminPage() {
  const tenant = useQuery({ queryKey: ['tenant'], queryFn: () => api.get<Tenant>('/tenant'), ...LIVE });
  const desktops = useQuery({ queryKey: ['desktops', 'all'], queryFn: () => api.get<List<Desktop>>('/desktops?all=true'), ...LIVE });
  const sessions = useQuery({ queryKey: ['sessions', 'all'], queryFn: () => api.get<List<Session>>('/sessions?all=true'), ...LIVE });
  const policies = useQuery({ queryKey: ['tenant', 'policies'], queryFn: () => api.get<List<Policy>>('/tenant/policies') });

  const t = tenant.data;
  return (
    <main className="page" aria-labelledby="admin-title">
      <div className="page__head">
        <h1 id="admin-title">Team {t ? `“${t.displayName ?? t.name}”` : ''}</h1>
      </div>

      <section className="card" aria-labelledby="quota-title">
        <h2 id="quota-title" className="card__title">
          Quota
        </h2>
        {tenant.error ? (
          <Problem error={tenant.error} what="The quota" />
        ) : !t ? (
          <p className="muted">Loading…</p>
        ) : (
          <div className="meters">
            <Meter label="Desktops" used={t.usage.desktops} limit={t.quota.desktops} />
            <Meter label="vCPUs" used={t.usage.vcpus} limit={t.quota.vcpus} />
            <Meter label="Memory" used={t.usage.memoryBytes} limit={parseQuantity(t.quota.memory)} format={formatBytes} />
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="all-desktops-title">
        <h2 id="all-desktops-title" className="card__title">
          Desktops
        </h2>
        {desktops.error ? (
          <Problem error={desktops.error} what="The desktops" />
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Template</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {(desktops.data?.items ?? []).map((d) => (
                  <tr key={d.name}>
                    <th scope="row">{d.name}</th>
                    <td>{d.owner ?? '—'}</td>
                    <td>{d.template}</td>
                    <td>
                      <StatusBadge desktop={d} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {desktops.data?.items.length === 0 && <p className="empty">No desktops in this team.</p>}
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="sessions-title">
        <h2 id="sessions-title" className="card__title">
          Console sessions
        </h2>
        {sessions.error ? (
          <Problem error={sessions.error} what="The sessions" />
        ) : sessions.data?.items.length === 0 ? (
          <p className="empty">Nobody is connected right now.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Desktop</th>
                  <th scope="col">Since</th>
                  <th scope="col">Via</th>
                  <th scope="col">Sent to client</th>
                </tr>
              </thead>
              <tbody>
                {(sessions.data?.items ?? []).map((s) => (
                  <tr key={s.key}>
                    <th scope="row">{s.user}</th>
                    <td>{s.desktop.split('/').pop()}</td>
                    <td>{new Date(s.openedAt).toLocaleString()}</td>
                    <td>{s.transport}</td>
                    <td>{formatBytes(s.channels.reduce((n, c) => n + c.bytesToClient, 0))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="policies-title">
        <h2 id="policies-title" className="card__title">
          Desktop policies
        </h2>
        {policies.error ? (
          <Problem error={policies.error} what="The policies" />
        ) : policies.data?.items.length === 0 ? (
          <p className="empty">No policies: sessions have no limits beyond the defaults.</p>
        ) : (
          <ul className="policy-list">
            {(policies.data?.items ?? []).map((p) => (
              <li key={p.name}>
                <strong>{p.name}</strong> <span className="muted">priority {p.spec.priority ?? 0}</span>
                <span className="policy-list__facts">{policyFacts(p).join(' · ') || 'no limits'}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}

function policyFacts(p: Policy): string[] {
  const s = p.spec;
  const out: string[] = [];
  if (s.clipboard) out.push(`clipboard: ${s.clipboard}`);
  if (s.deniedChannels?.length) out.push(`denied: ${s.deniedChannels.join(', ')}`);
  if (s.maxConcurrentSessions) out.push(`at most ${s.maxConcurrentSessions} sessions`);
  if (s.idleTimeoutSeconds) out.push(`idle timeout ${Math.round(s.idleTimeoutSeconds / 60)} min`);
  if (s.maxSessionSeconds) out.push(`sessions end after ${Math.round(s.maxSessionSeconds / 60)} min`);
  return out;
}
