import { api, errorFrom } from '../api/client';
import type { Desktop } from '../api/types';

const path = (d: Pick<Desktop, 'name'>) => `/desktops/${encodeURIComponent(d.name)}`;

export const runAction = (d: Desktop, action: 'start' | 'stop' | 'restart') => api.post<Desktop>(`${path(d)}/${action}`);

export async function deleteDesktop(d: Desktop): Promise<Desktop> {
  await api.del<{ deleting: true }>(path(d));
  return { ...d, deleting: true };
}

/** Fetches the .vv file (it carries a short-lived ticket) and hands it to the browser as a download. */
export async function downloadVv(d: Desktop): Promise<void> {
  const res = await api.raw(`${path(d)}/console?kind=vv`);
  if (!res.ok) throw await errorFrom(res);
  const url = URL.createObjectURL(await res.blob());
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = `${d.name}.vv`;
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    // The click has queued the download; the URL is no longer needed after this task.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

/** What the confirmation dialog says before each disruptive action. */
export const CONFIRM: Record<'stop' | 'restart' | 'delete', { title: (n: string) => string; body: string; label: string; danger: boolean }> = {
  stop: { title: (n) => `Stop ${n}?`, body: 'The desktop shuts down; open console sessions end. Unsaved work may be lost.', label: 'Stop', danger: false },
  restart: { title: (n) => `Restart ${n}?`, body: 'The desktop stops and starts again; open console sessions end. Unsaved work may be lost.', label: 'Restart', danger: false },
  delete: { title: (n) => `Delete ${n}?`, body: 'The desktop and its disk are removed for good. This cannot be undone.', label: 'Delete', danger: true },
};
