/**
 * The dashboard's live data: every list is polled every 2 s. react-query stops interval
 * refetches while the document is hidden (refetchIntervalInBackground: false) and refetches
 * on return, so a background tab costs the API nothing.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { Api } from '../api/client';
import type { AuditEntry, DesktopSummary, Host, List, Migration, QueueCounts, Session } from './types';

export const POLL_MS = 2000;

export const OPS_PATHS = {
  hosts: '/ops/hosts',
  desktops: '/desktops?all=true',
  migrations: '/ops/migrations',
  sessions: '/ops/sessions',
  queues: '/ops/queues',
  audit: '/ops/audit?limit=25',
} as const;

/** Every query of the dashboard starts with this, so one invalidation refreshes them all after an action. */
export const OPS_KEY = 'ops-dashboard';

function useList<T>(client: Api, path: string) {
  return useQuery({
    queryKey: [OPS_KEY, path],
    queryFn: async () => (await client.get<List<T>>(path)).items,
    refetchInterval: POLL_MS,
    refetchIntervalInBackground: false,
    // The next poll is the retry; retrying in between would stack requests on a struggling API.
    retry: false,
  });
}

export function useOpsData(client: Api) {
  return {
    hosts: useList<Host>(client, OPS_PATHS.hosts),
    desktops: useList<DesktopSummary>(client, OPS_PATHS.desktops),
    migrations: useList<Migration>(client, OPS_PATHS.migrations),
    sessions: useList<Session>(client, OPS_PATHS.sessions),
    queues: useList<QueueCounts>(client, OPS_PATHS.queues),
    audit: useList<AuditEntry>(client, OPS_PATHS.audit),
  };
}

export function useRefreshOps(): () => void {
  const qc = useQueryClient();
  return () => void qc.invalidateQueries({ queryKey: [OPS_KEY] });
}

/** The dashboard's actions, each one request; the confirm step is the caller's. */
export function opsActions(client: Api) {
  const enc = encodeURIComponent;
  return {
    drain: (host: string) => client.post(`/ops/hosts/${enc(host)}/drain`),
    undrain: (host: string) => client.post(`/ops/hosts/${enc(host)}/undrain`),
    abortMigration: (m: Pick<Migration, 'tenant' | 'name'>) => client.del(`/ops/migrations/${enc(m.tenant)}/${enc(m.name)}`),
    killSession: (key: string) => client.del(`/ops/sessions/${enc(key)}?reason=${enc('ended from the ops dashboard')}`),
  };
}

export type OpsActions = ReturnType<typeof opsActions>;
