import type { ResourceStore } from '@deskplane/resource-store';
import { RESOURCE_TYPES } from '@deskplane/desktop-operator';

interface DesktopView {
  metadata: { name: string; namespace?: string };
  status?: { phase?: string; host?: string; console?: { ready?: boolean; address?: string; port?: number }; conditions?: Array<{ type: string; status: string; message?: string }> };
}

/** One screen of what runs: hosts and desktops, like `kubectl get kh,vd` would show. */
export async function statusTable(store: ResourceStore): Promise<string> {
  const hosts = (await store.client(RESOURCE_TYPES.KvmHost).list()).items as unknown as Array<{
    metadata: { name: string };
    spec: { agentEndpoint: string };
    status?: { guestCount?: number; conditions?: Array<{ type: string; status: string }> };
  }>;
  const desktops = (await store.client(RESOURCE_TYPES.VirtualDesktop).list()).items as unknown as DesktopView[];
  const lines = ['HOST        READY  GUESTS  AGENT'];
  for (const h of hosts) {
    const ready = h.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
    lines.push(`${h.metadata.name.padEnd(11)} ${ready.padEnd(6)} ${String(h.status?.guestCount ?? 0).padEnd(7)} ${h.spec.agentEndpoint}`);
  }
  lines.push('', 'DESKTOP                  PHASE         HOST        CONSOLE');
  for (const d of desktops) {
    const s = d.status ?? {};
    const consoleAt = s.console?.ready ? `spice://${s.console.address}:${s.console.port}` : '-';
    const why = s.phase === 'Pending' || s.phase === 'Failed' ? `  (${s.conditions?.find((c) => c.status === 'False')?.message ?? ''})` : '';
    lines.push(`${`${d.metadata.namespace}/${d.metadata.name}`.padEnd(24)} ${(s.phase ?? '-').padEnd(13)} ${(s.host ?? '-').padEnd(11)} ${consoleAt}${why}`);
  }
  return lines.join('\n');
}
