import { useState } from 'react';
import type { Desktop } from '../api/types';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { messageOf } from '../ui/messages';
import { CONFIRM, deleteDesktop, downloadVv, runAction } from './actions';
import { CreateDesktopForm } from './CreateDesktopForm';
import { DesktopCard, type DesktopAction } from './DesktopCard';
import { keyOf } from './feed';
import { PoolsSection } from './PoolsSection';
import { useDesktopFeed } from './useDesktopFeed';

type Notice = { kind: 'info' | 'error'; text: string };

export function DesktopsPage() {
  const feed = useDesktopFeed();
  const [creating, setCreating] = useState(false);
  const [confirm, setConfirm] = useState<{ action: 'stop' | 'restart' | 'delete'; desktop: Desktop }>();
  const [busy, setBusy] = useState<string>();
  const [notice, setNotice] = useState<Notice>();

  const act = async (action: DesktopAction, d: Desktop) => {
    setBusy(keyOf(d));
    try {
      if (action === 'vv') {
        await downloadVv(d);
        setNotice({ kind: 'info', text: `${d.name}.vv downloaded: open it with remote-viewer within a minute, before its ticket expires.` });
      } else if (action === 'delete') {
        feed.apply(await deleteDesktop(d));
        setNotice({ kind: 'info', text: `${d.name} is being deleted.` });
      } else {
        feed.apply(await runAction(d, action));
        setNotice({ kind: 'info', text: `${d.name}: ${action} requested.` });
      }
    } finally {
      setBusy(undefined);
    }
  };

  const onAction = (action: DesktopAction, d: Desktop) => {
    if (action === 'stop' || action === 'restart' || action === 'delete') {
      setConfirm({ action, desktop: d });
      return;
    }
    setNotice(undefined);
    act(action, d).catch((err: unknown) => setNotice({ kind: 'error', text: `${d.name}: ${messageOf(err)}` }));
  };

  const c = confirm && CONFIRM[confirm.action];
  return (
    <main className="page" aria-labelledby="desktops-title">
      <div className="page__head">
        <h1 id="desktops-title">My desktops</h1>
        {!creating && (
          <button type="button" className="button button--primary" onClick={() => setCreating(true)}>
            New desktop
          </button>
        )}
      </div>
      {creating && (
        <CreateDesktopForm
          onCreated={(d) => {
            feed.apply(d);
            setCreating(false);
            setNotice({ kind: 'info', text: `${d.name} created; it starts in a moment.` });
          }}
          onCancel={() => setCreating(false)}
        />
      )}
      <div aria-live="polite">
        {notice && <p className={`alert alert--${notice.kind}`}>{notice.text}</p>}
        {feed.error && <p className="alert alert--warn">{feed.error}</p>}
      </div>
      <PoolsSection />
      {!feed.synced ? (
        <p className="muted" role="status">
          Loading your desktops…
        </p>
      ) : feed.desktops.length === 0 ? (
        <p className="empty">You have no desktops yet. Create one from a template with “New desktop”.</p>
      ) : (
        <ul className="desktop-grid" aria-label="Desktops">
          {feed.desktops.map((d) => (
            <DesktopCard key={keyOf(d)} desktop={d} busy={busy === keyOf(d)} onAction={onAction} />
          ))}
        </ul>
      )}
      {confirm && c && (
        <ConfirmDialog
          open
          title={c.title(confirm.desktop.name)}
          confirmLabel={c.label}
          danger={c.danger}
          onConfirm={() => act(confirm.action, confirm.desktop)}
          onClose={() => setConfirm(undefined)}
        >
          <p>{c.body}</p>
        </ConfirmDialog>
      )}
    </main>
  );
}
