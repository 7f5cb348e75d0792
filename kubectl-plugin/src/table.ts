/**
 * Pure: what `list` prints. Columns and the age format follow `kubectl get` so the output
 * reads like the rest of kubectl: upper-case headers, `<none>` for empty cells, ages that
 * keep two units while they are small (`3m20s`, `5h12m`, `2d4h`) and one after that.
 */
import type { VirtualDesktop } from '@deskplane/api';

export const NONE = '<none>';

/** Columns separated by three spaces, every column as wide as its widest cell. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Age of something created at `from`, seen at `now`. */
export function formatAge(from: Date, now: Date): string {
  const ms = now.getTime() - from.getTime();
  if (Number.isNaN(ms)) return NONE;
  // Clock skew between client and apiserver: a second either way is still "just now".
  if (ms < -1000) return '<invalid>';
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(s / 3600);
  const d = Math.floor(s / 86_400);
  const y = Math.floor(d / 365);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (y < 2) return `${d}d`;
  if (y < 8) return d % 365 ? `${y}y${d % 365}d` : `${y}y`;
  return `${y}y`;
}

export interface DesktopTableOptions {
  wide: boolean;
  allNamespaces: boolean;
  now: Date;
}

/** Console column: whether the gateway can reach the guest's SPICE server, and where. */
export function consoleCell(vd: VirtualDesktop): string {
  const c = vd.status?.console;
  if (!c) return NONE;
  if (!c.ready) return 'NotReady';
  return c.address ? `Ready ${c.address}${c.port ? `:${c.port}` : ''}` : 'Ready';
}

export function desktopTable(items: readonly VirtualDesktop[], o: DesktopTableOptions): string {
  const headers = [...(o.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'HOST', 'AGE', ...(o.wide ? ['TEMPLATE', 'OWNER', 'CONSOLE'] : [])];
  const rows = sortDesktops(items).map((vd) => {
    const created = vd.metadata.creationTimestamp;
    return [
      ...(o.allNamespaces ? [vd.metadata.namespace ?? NONE] : []),
      vd.metadata.name ?? NONE,
      vd.status?.phase ?? NONE,
      vd.status?.host ?? NONE,
      created ? formatAge(new Date(created), o.now) : NONE,
      ...(o.wide ? [vd.spec.templateRef.name, vd.spec.owner ?? NONE, consoleCell(vd)] : []),
    ];
  });
  return renderTable(headers, rows);
}

/** By namespace, then name: the order kubectl lists in, stable across runs. */
export function sortDesktops(items: readonly VirtualDesktop[]): VirtualDesktop[] {
  const key = (vd: VirtualDesktop) => `${vd.metadata.namespace ?? ''}\u0000${vd.metadata.name ?? ''}`;
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** `-o name`: one `virtualdesktop.deskplane.io/NAME` per line, as kubectl prints it. */
export function desktopNames(items: readonly VirtualDesktop[]): string {
  return sortDesktops(items)
    .map((vd) => `virtualdesktop.deskplane.io/${vd.metadata.name ?? ''}`)
    .join('\n');
}

/** `-o json`: a v1 List, what `kubectl get -o json` prints for several objects. */
export function desktopJson(items: readonly VirtualDesktop[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: sortDesktops(items) }, null, 4);
}
